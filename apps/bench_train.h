/* bench_train.h: the `porta-bench train` subcommand (bench_train.c). */
#ifndef PORTA_BENCH_TRAIN_H
#define PORTA_BENCH_TRAIN_H

/* porta-bench train [options]: argv[0] is "train". Returns the exit status
 * (2 for a usage error). */
int porta_bench_train(int argc, char **argv);

#endif
