// The librdkafka C API as one Clang module: the client and its embedded mock cluster.
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
