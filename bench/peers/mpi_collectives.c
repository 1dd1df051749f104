/* Open MPI collective sweep: the MPI peer of `npm run bench:compare`, compiled with mpicc at run time.
 *
 * usage: mpi_collectives COLLECTIVE MIN_BYTES MAX_BYTES FACTOR ITERS WARMUP
 * COLLECTIVE is allreduce, reducescatter, allgather, broadcast or reduce (root 0). Times it in
 * place on float32 (MPI_SUM where it reduces), as the other contestants are measured, and prints
 * from rank 0 one JSON line per size: {"bytes": B, "timeUs": T}, T being the mean over ranks of
 * each rank's time per call, as webccl-perf -a 1 reports it. Sizes follow webccl-perf's layout
 * (bench/perf/layout.ts): B is the larger buffer of a rank, whole float32s, and for
 * reducescatter and allgather a whole number of them per rank; a size that holds none is left out. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum collective { ALLREDUCE, REDUCESCATTER, ALLGATHER, BROADCAST, REDUCE };
static const char *const NAMES[] = { "allreduce", "reducescatter", "allgather", "broadcast", "reduce" };

static void run_once(enum collective which, float *data, int block, int whole, int rank) {
  switch (which) {
    case ALLREDUCE: MPI_Allreduce(MPI_IN_PLACE, data, whole, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); break;
    /* In place: the n blocks are read from the receive buffer, the result lands in its first block. */
    case REDUCESCATTER: MPI_Reduce_scatter_block(MPI_IN_PLACE, data, block, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); break;
    case ALLGATHER: MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, block, MPI_FLOAT, MPI_COMM_WORLD); break;
    case BROADCAST: MPI_Bcast(data, whole, MPI_FLOAT, 0, MPI_COMM_WORLD); break;
    /* Only the root may pass MPI_IN_PLACE; the others' receive buffer is not used. */
    case REDUCE: MPI_Reduce(rank == 0 ? MPI_IN_PLACE : data, rank == 0 ? data : NULL, whole, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD); break;
  }
}

static double time_calls(enum collective which, float *data, int block, int whole, int rank, int iters, int warmup) {
  for (int i = 0; i < warmup; i++) run_once(which, data, block, whole, rank);
  MPI_Barrier(MPI_COMM_WORLD);
  double start = MPI_Wtime();
  for (int i = 0; i < iters; i++) run_once(which, data, block, whole, rank);
  return (MPI_Wtime() - start) / iters * 1e6;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, world;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  int which = -1;
  for (int i = 0; argc == 7 && i < (int)(sizeof NAMES / sizeof *NAMES); i++) if (strcmp(argv[1], NAMES[i]) == 0) which = i;
  if (which < 0) {
    if (rank == 0) fprintf(stderr, "usage: %s allreduce|reducescatter|allgather|broadcast|reduce MIN_BYTES MAX_BYTES FACTOR ITERS WARMUP\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  long min_bytes = atol(argv[2]), max_bytes = atol(argv[3]);
  int factor = atoi(argv[4]), iters = atoi(argv[5]), warmup = atoi(argv[6]);
  int blocked = which == REDUCESCATTER || which == ALLGATHER;

  for (long bytes = min_bytes; bytes <= max_bytes; bytes *= factor) {
    /* block: float32s per rank (reducescatter, allgather); whole: float32s in the larger buffer. */
    int block = (int)(bytes / 4 / world);
    int whole = blocked ? block * world : (int)(bytes / 4);
    if (whole == 0) continue;
    float *data = malloc((size_t)whole * sizeof(float));
    /* Small values: in-place sums stay finite over warmup + iters rounds. */
    for (int i = 0; i < whole; i++) data[i] = 1.0f / world;
    double mine = time_calls(which, data, block, whole, rank, iters, warmup), total = 0;
    MPI_Reduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      printf("{\"bytes\": %ld, \"timeUs\": %.3f}\n", (long)whole * 4, total / world);
      fflush(stdout);
    }
    free(data);
  }
  MPI_Finalize();
  return 0;
}
