// The benchmark ceiling: the three `tandem bench kafka` workloads written as minimal loops directly
// against librdkafka's C API, compiled with optimisation, so the Swift wrapper can be measured
// against plain C in the same run on the same broker. Nothing else uses this target.
#ifndef TANDEM_CEILING_H
#define TANDEM_CEILING_H

#include <stdint.h>

typedef struct {
    double seconds;      // wall time of the measured loop
    int64_t records;     // records produced / consumed
    int64_t bytes;       // value bytes produced / consumed
    int error;           // 0 on success
    char message[256];   // what failed, when error != 0
} tandem_ceiling_result;

// Configuration is passed as `count` name/value pairs: names[i] = values[i].
typedef struct {
    const char *const *names;
    const char *const *values;
    int count;
} tandem_ceiling_conf;

// Produces `records` keyed records of `value_size` bytes (keys "key-<i mod 100000>") and waits for
// every delivery report.
tandem_ceiling_result tandem_ceiling_produce(const char *bootstrap, const char *topic, int64_t records,
                                             int value_size, tandem_ceiling_conf producer_conf);

// Consumes `records` records from partitions 0..partitions-1 of `topic` from the beginning.
tandem_ceiling_result tandem_ceiling_consume(const char *bootstrap, const char *topic, int partitions,
                                             int64_t records, tandem_ceiling_conf consumer_conf);

// Consumes `records` records from `in_topic` and produces each (same key and value) to
// `out_topic`; done when every output is acknowledged.
tandem_ceiling_result tandem_ceiling_passthrough(const char *bootstrap, const char *in_topic, int partitions,
                                                 const char *out_topic, int64_t records,
                                                 tandem_ceiling_conf consumer_conf,
                                                 tandem_ceiling_conf producer_conf);

// Bytes of live malloc allocations (glibc mallinfo2: arena in use + mmapped blocks), for the
// benchmarks' state-size measurement (`tandem bench segmentation`): <malloc.h> is not part of
// Swift's Glibc module, and this bench-only target is the one C target the CLI links.
int64_t tandem_ceiling_heap_in_use(void);

#endif
