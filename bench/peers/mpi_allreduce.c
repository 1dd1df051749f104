/* Open MPI allreduce sweep: the MPI peer of `npm run bench:compare`, compiled with mpicc at run time.
 *
 * usage: mpi_allreduce MIN_BYTES MAX_BYTES FACTOR ITERS WARMUP
 * Times float32 MPI_SUM MPI_Allreduce in place (as the other peers are measured) for each size
 * and prints, from rank 0, one JSON line per size: {"bytes": B, "timeUs": T}, T being the mean
 * over ranks of each rank's time per call, as webccl-perf -a 1 reports it. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static double time_allreduce(float *data, int count, int iters, int warmup) {
  for (int i = 0; i < warmup; i++) MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double start = MPI_Wtime();
  for (int i = 0; i < iters; i++) MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  return (MPI_Wtime() - start) / iters * 1e6;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc != 6) {
    fprintf(stderr, "usage: %s MIN_BYTES MAX_BYTES FACTOR ITERS WARMUP\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  long min_bytes = atol(argv[1]), max_bytes = atol(argv[2]);
  int factor = atoi(argv[3]), iters = atoi(argv[4]), warmup = atoi(argv[5]);
  int rank, world;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);

  for (long bytes = min_bytes; bytes <= max_bytes; bytes *= factor) {
    int count = bytes / 4 > 0 ? (int)(bytes / 4) : 1;
    float *data = malloc((size_t)count * sizeof(float));
    /* Small values: sums stay finite over warmup + iters in-place rounds. */
    for (int i = 0; i < count; i++) data[i] = 1.0f / world;
    double mine = time_allreduce(data, count, iters, warmup), total = 0;
    MPI_Reduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      printf("{\"bytes\": %ld, \"timeUs\": %.3f}\n", (long)count * 4, total / world);
      fflush(stdout);
    }
    free(data);
  }
  MPI_Finalize();
  return 0;
}
