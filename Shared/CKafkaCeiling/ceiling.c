// Minimal librdkafka loops for the benchmark ceiling (see CKafkaCeiling.h).
#include "CKafkaCeiling.h"

#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TANDEM_CEILING_BATCH 4096

static double tandem_ceiling_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tandem_ceiling_fail(tandem_ceiling_result *result, const char *what, const char *detail) {
    result->error = 1;
    snprintf(result->message, sizeof(result->message), "%s: %s", what, detail ? detail : "");
}

static rd_kafka_t *tandem_ceiling_client(rd_kafka_type_t type, const char *bootstrap, tandem_ceiling_conf extra,
                                         rd_kafka_conf_t *conf, tandem_ceiling_result *result) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        tandem_ceiling_fail(result, "bootstrap.servers", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (int i = 0; i < extra.count; i++) {
        if (rd_kafka_conf_set(conf, extra.names[i], extra.values[i], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            tandem_ceiling_fail(result, extra.names[i], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        tandem_ceiling_fail(result, "rd_kafka_new", errstr);
        rd_kafka_conf_destroy(conf);  // rd_kafka_new takes the conf only on success
    }
    return rk;
}

typedef struct {
    int64_t delivered;
    int64_t failed;
} tandem_ceiling_delivery;

static void tandem_ceiling_dr(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    tandem_ceiling_delivery *delivery = opaque;
    if (message->err) delivery->failed++;
    else delivery->delivered++;
}

static rd_kafka_t *tandem_ceiling_producer(const char *bootstrap, tandem_ceiling_conf extra,
                                           tandem_ceiling_delivery *delivery, tandem_ceiling_result *result) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, tandem_ceiling_dr);
    rd_kafka_conf_set_opaque(conf, delivery);
    return tandem_ceiling_client(RD_KAFKA_PRODUCER, bootstrap, extra, conf, result);
}

// Produces one record, serving delivery reports while the queue is full (back-pressure, no drops).
static void tandem_ceiling_send(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const void *key, size_t key_len,
                                const void *value, size_t value_len) {
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, value_len, key, key_len,
                            NULL) == -1) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) return;
        rd_kafka_poll(rk, 1);
    }
}

tandem_ceiling_result tandem_ceiling_produce(const char *bootstrap, const char *topic, int64_t records,
                                             int value_size, tandem_ceiling_conf producer_conf) {
    tandem_ceiling_result result = {0};
    tandem_ceiling_delivery delivery = {0};
    rd_kafka_t *rk = tandem_ceiling_producer(bootstrap, producer_conf, &delivery, &result);
    if (!rk) return result;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    char *value = malloc((size_t)value_size);
    memset(value, 'x', (size_t)value_size);
    char key[32];

    double start = tandem_ceiling_now();
    for (int64_t i = 0; i < records; i++) {
        int key_len = snprintf(key, sizeof(key), "key-%lld", (long long)(i % 100000));
        tandem_ceiling_send(rk, rkt, key, (size_t)key_len, value, (size_t)value_size);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    result.seconds = tandem_ceiling_now() - start;
    result.records = delivery.delivered;
    result.bytes = delivery.delivered * value_size;
    if (delivery.failed || delivery.delivered != records) tandem_ceiling_fail(&result, "produce", "not every record delivered");

    free(value);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return result;
}

// Waits up to 100 ms for one record, then takes whatever else is already fetched without waiting
// (rd_kafka_consume_batch_queue otherwise waits for a full batch or the whole timeout).
static ssize_t tandem_ceiling_next_batch(rd_kafka_queue_t *queue, rd_kafka_message_t **batch) {
    ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch, 1);
    if (n == 1) {
        ssize_t more = rd_kafka_consume_batch_queue(queue, 0, batch + 1, TANDEM_CEILING_BATCH - 1);
        if (more > 0) n += more;
    }
    return n;
}

static rd_kafka_t *tandem_ceiling_consumer(const char *bootstrap, const char *topic, int partitions,
                                           tandem_ceiling_conf extra, tandem_ceiling_result *result) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_conf_set(conf, "group.id", "tandem-ceiling", errstr, sizeof(errstr));
    rd_kafka_t *rk = tandem_ceiling_client(RD_KAFKA_CONSUMER, bootstrap, extra, conf, result);
    if (!rk) return NULL;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    return rk;
}

tandem_ceiling_result tandem_ceiling_consume(const char *bootstrap, const char *topic, int partitions,
                                             int64_t records, tandem_ceiling_conf consumer_conf) {
    tandem_ceiling_result result = {0};
    double start = 0;
    rd_kafka_t *rk = tandem_ceiling_consumer(bootstrap, topic, partitions, consumer_conf, &result);
    if (!rk) return result;
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *batch[TANDEM_CEILING_BATCH];
    double deadline = tandem_ceiling_now() + 120;
    while (result.records < records && tandem_ceiling_now() < deadline) {
        ssize_t n = tandem_ceiling_next_batch(queue, batch);
        if (n > 0 && start == 0) start = tandem_ceiling_now();  // from the first record: startup is not throughput
        for (ssize_t i = 0; i < n; i++) {
            if (!batch[i]->err) {
                result.records++;
                result.bytes += (int64_t)batch[i]->len;
            }
            rd_kafka_message_destroy(batch[i]);
        }
    }
    result.seconds = tandem_ceiling_now() - start;
    if (result.records < records) tandem_ceiling_fail(&result, "consume", "timed out before every record arrived");
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return result;
}

tandem_ceiling_result tandem_ceiling_passthrough(const char *bootstrap, const char *in_topic, int partitions,
                                                 const char *out_topic, int64_t records,
                                                 tandem_ceiling_conf consumer_conf,
                                                 tandem_ceiling_conf producer_conf) {
    tandem_ceiling_result result = {0};
    tandem_ceiling_delivery delivery = {0};
    double start = 0;
    rd_kafka_t *producer = tandem_ceiling_producer(bootstrap, producer_conf, &delivery, &result);
    if (!producer) return result;
    rd_kafka_t *consumer = tandem_ceiling_consumer(bootstrap, in_topic, partitions, consumer_conf, &result);
    if (!consumer) {
        rd_kafka_destroy(producer);
        return result;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(producer, out_topic, NULL);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(consumer);
    rd_kafka_message_t *batch[TANDEM_CEILING_BATCH];
    int64_t consumed = 0;
    double deadline = tandem_ceiling_now() + 120;
    while (consumed < records && tandem_ceiling_now() < deadline) {
        ssize_t n = tandem_ceiling_next_batch(queue, batch);
        if (n > 0 && start == 0) start = tandem_ceiling_now();  // from the first record: startup is not throughput
        for (ssize_t i = 0; i < n; i++) {
            if (!batch[i]->err) {
                consumed++;
                tandem_ceiling_send(producer, rkt, batch[i]->key, batch[i]->key_len, batch[i]->payload, batch[i]->len);
                result.bytes += (int64_t)batch[i]->len;
            }
            rd_kafka_message_destroy(batch[i]);
        }
        rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 60000);
    result.seconds = tandem_ceiling_now() - start;
    result.records = delivery.delivered;
    if (delivery.delivered < records) tandem_ceiling_fail(&result, "passthrough", "not every record passed through");
    rd_kafka_queue_destroy(queue);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    return result;
}

int64_t tandem_ceiling_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return (int64_t)(info.uordblks + info.hblkhd);
}
