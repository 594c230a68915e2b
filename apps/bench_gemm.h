/* bench_gemm.h: the `porta-bench gemm` subcommand (bench_gemm.c), and the
 * optional comparisons it runs (bench_clblast.c). */
#ifndef PORTA_BENCH_GEMM_H
#define PORTA_BENCH_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "porta/porta.h"

/* porta-bench gemm [options]: argv[0] is "gemm". Returns the exit status
 * (2 for a usage error). */
int porta_bench_gemm(int argc, char **argv);

/* GFLOP/s of porta_gemm (alpha 1, beta 0, op(A) m x k transposed when ta,
 * op(B) k x n transposed when tb) on seeded data: one warm-up call, then
 * groups of calls ended by porta_finish for about min_time seconds, the
 * median group (bench_gemm.c). -1 and the failing status on failure. */
porta_status bench_gemm_point(porta_context *ctx, bool ta, bool tb, size_t m, size_t n, size_t k,
                              double min_time, double *gflops);

/* CLBlast on the OpenCL device porta calls "opencl:<cl_index>": the same
 * numbering (every device of every platform, platform order then device
 * order, CL_DEVICE_TYPE_ALL), in a cl_context of its own. Only compiled
 * when CMake found CLBlast (PORTA_HAVE_CLBLAST). */
typedef struct bench_clblast bench_clblast;

/* Open the device; NULL (with a line on stderr) if it cannot be used. */
bench_clblast *bench_clblast_open(unsigned cl_index);
void bench_clblast_close(bench_clblast *b);

/* GFLOP/s of CLBlastSgemm (row-major, op(A) m x k, op(B) k x n, alpha 1,
 * beta 0), timed by wall clock around groups of calls ended by clFinish
 * after a warm-up call, for about min_time seconds; the median group.
 * Returns 0, or -1 (with a line on stderr) if CLBlast fails. */
int bench_clblast_sgemm(bench_clblast *b, bool ta, bool tb, size_t m, size_t n, size_t k,
                        double min_time, double *gflops);

#endif
