/*
 * kafka-mock: a throwaway Kafka broker for tests, built on librdkafka's mock cluster
 * (librdkafka/rdkafka_mock.h, Debian package librdkafka-dev). Nothing else here can host a broker:
 * there is no Kafka package and no Docker engine on the CI machine.
 *
 * Prints the cluster's bootstrap servers (e.g. "127.0.0.1:38153") as one line on stdout once the
 * brokers listen, then serves until SIGTERM, SIGINT or SIGHUP and exits 0. Data lives in memory only.
 *
 *   kafka-mock [--brokers N] [--die-with-parent]
 *
 * --die-with-parent (Linux): exit when the process that started it dies, so that a test worker
 * killed outright does not leave a broker behind. Off by default because a shell that backgrounds
 * the mock and returns would kill it at once.
 *
 * Known limits of the mock (librdkafka 2.0): topics are auto-created with 4 partitions;
 * CreateTopics (admin) and the idempotent/transactional producer are not supported.
 *
 * Build: gcc -O2 -o kafka-mock kafka-mock.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static int usage(void) {
  fprintf(stderr, "usage: kafka-mock [--brokers N] [--die-with-parent]\n");
  return 2;
}

int main(int argc, char **argv) {
  int brokers = 1;
  int die_with_parent = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
      brokers = atoi(argv[++i]);
      if (brokers < 1) return usage();
    } else if (strcmp(argv[i], "--die-with-parent") == 0) {
      die_with_parent = 1;
    } else {
      return usage();
    }
  }

  if (die_with_parent) {
#ifdef __linux__
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
      perror("kafka-mock: prctl(PR_SET_PDEATHSIG)");
      return 1;
    }
    /* The parent may have died before prctl took effect. */
    if (getppid() != parent) return 0;
#else
    fprintf(stderr, "kafka-mock: --die-with-parent is only supported on Linux; ignored\n");
#endif
  }

  /* Blocked before librdkafka starts its threads (they inherit the mask), so that only sigwait()
   * below receives them and the cluster is always destroyed in an orderly way. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the mock cluster; it never connects anywhere, so its "no bootstrap
   * servers" notice is noise. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
