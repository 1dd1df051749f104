// The floor of a 2-rank small call on this host, in C: two processes bound to CPU 0 and 1 run
// the board's small-call protocol (native/src/board.cc: each rank stores its stamp and 8 bytes
// into its own slot line, then a release store of its arrival counter, then spins on the peer's
// counter and reads the peer's stamp and data from that same line) with nothing else around it:
// no N-API, no JavaScript. Several variants run in turns, block by block, so that each meets the
// same placement of the two vCPUs (the host moves them: docs/PERFORMANCE.md, lat16); per variant
// it prints the p10 / p50 of the blocks' ns per round. A round is one call: both ranks arrive,
// each waits for the other (one line transfer each way, overlapped).
//   gcc -O2 -o /tmp/line-lockstep native/tools/line-lockstep.c && /tmp/line-lockstep [blocks] [rounds]
// Variants:
//   bare     the arrival counter alone (no stamp, no data): lat16's "release store" lockstep
//   board    the board's own: stamp + data + counter in one line, the header's `sleepers` read
//            after the arrival, a clock read between polls (Board::wait), stamp check, 8-byte sum
//   pause    as board, a `pause` between polls instead of the clock read
//   tight    as board, nothing between polls
//   twoline  as board, but the data in a second line of the slot (the layout before lat15): what
//            one more dependent line transfer per call costs here
//   seqcst   as board, the arrival a seq_cst store (xchg): what board.cc does where a rank cannot
//            fence its peers (Board::arrive)
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <immintrin.h>

enum { BARE, BOARD, PAUSE, TIGHT, TWOLINE, SEQCST, PARITY, BOARD_W, PARITY_W, VARIANTS };
static const char* names[VARIANTS] = {"bare", "board", "pause", "tight", "twoline", "seqcst", "parity", "board+w", "parity+w"};

struct slot {
  _Alignas(64) _Atomic uint32_t arrivals;
  int32_t pid;
  _Atomic uint64_t stamp[2];
  uint8_t carried[2][16];
  _Alignas(64) uint8_t lane[2][16];  // twoline's data
  // parity's: per input phase parity a line of its own, with its own arrival number
  struct {
    _Alignas(64) _Atomic uint32_t seq;
    _Atomic uint64_t stamp;
    uint8_t carried[16];
  } phase[2];
};
struct shared {
  _Alignas(64) _Atomic uint32_t sleepers;
  _Alignas(64) _Atomic uint32_t go;
  struct slot slots[2];
  double ns[2][VARIANTS][4096];
};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp(const void* a, const void* b) { return *(const double*)a < *(const double*)b ? -1 : *(const double*)a > *(const double*)b; }

/** One call of `variant` on rank `me`; `k` counts this process's calls, from 0. */
static float call(struct shared* s, int me, int variant, uint32_t k, float mine, volatile int64_t* sink) {
  struct slot* own = &s->slots[me];
  struct slot* peer = &s->slots[1 - me];
  uint32_t parity = k & 1, target = k + 1;
  // The work a call does besides its wait (the N-API crossing, set-up, the fold): ~120 ns of ALU.
  if (variant == BOARD_W || variant == PARITY_W) for (volatile int i = 0; i < 200; i++) {}
  if (variant == PARITY || variant == PARITY_W) {
    atomic_store_explicit(&own->phase[parity].stamp, k, memory_order_relaxed);
    memcpy(own->phase[parity].carried, &mine, sizeof mine);
    atomic_store_explicit(&own->phase[parity].seq, target, memory_order_release);
    atomic_store_explicit(&own->arrivals, target, memory_order_release);
    if (atomic_load(&s->sleepers) > 0) abort();
    while ((int32_t)(atomic_load_explicit(&peer->phase[parity].seq, memory_order_acquire) - target) < 0) *sink = now_ns();
    if (atomic_load_explicit(&peer->phase[parity].stamp, memory_order_relaxed) != k) abort();
    float theirs;
    memcpy(&theirs, peer->phase[parity].carried, sizeof theirs);
    return me == 0 ? mine + theirs : theirs + mine;
  }
  if (variant != BARE) {
    atomic_store_explicit(&own->stamp[parity], k, memory_order_relaxed);
    memcpy(variant == TWOLINE ? own->lane[parity] : own->carried[parity], &mine, sizeof mine);
  }
  if (variant == SEQCST) atomic_store(&own->arrivals, target);
  else atomic_store_explicit(&own->arrivals, target, memory_order_release);
  if (variant != BARE && atomic_load(&s->sleepers) > 0) abort();
  while ((int32_t)(atomic_load_explicit(&peer->arrivals, memory_order_acquire) - target) < 0) {
    if (variant == BOARD || variant == TWOLINE || variant == SEQCST || variant == BOARD_W) *sink = now_ns();
    else if (variant == PAUSE) _mm_pause();
  }
  if (variant == BARE) return mine;
  if (atomic_load_explicit(&peer->stamp[parity], memory_order_relaxed) != k) abort();
  float theirs;
  memcpy(&theirs, variant == TWOLINE ? peer->lane[parity] : peer->carried[parity], sizeof theirs);
  return me == 0 ? mine + theirs : theirs + mine;
}

int main(int argc, char** argv) {
  int blocks = argc > 1 ? atoi(argv[1]) : 60, rounds = argc > 2 ? atoi(argv[2]) : 10000;
  if (blocks < 1 || blocks > 4096 || rounds < 1) return fprintf(stderr, "usage: line-lockstep [blocks 1..4096] [rounds]\n"), 2;
  struct shared* s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return perror("mmap"), 1;
  pid_t child = fork();
  int me = child == 0 ? 1 : 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(me, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) return perror("sched_setaffinity"), 1;
  volatile int64_t sink = 0;
  uint32_t k = 0;
  float check = 0;
  for (int b = 0; b < blocks; b++) {
    for (int v = 0; v < VARIANTS; v++) {
      // Both ranks in the same variant: a 100-round warm-up of it, untimed, lines them up.
      for (int i = 0; i < 100; i++) check += call(s, me, v, k++, 1.0f, &sink);
      int64_t t = now_ns();
      for (int i = 0; i < rounds; i++) check += call(s, me, v, k++, 1.0f, &sink);
      s->ns[me][v][b] = (double)(now_ns() - t) / rounds;
    }
  }
  if (child != 0) {
    waitpid(child, NULL, 0);
    printf("ns per round, p10 / p50 / max of %d blocks of %d rounds (rank 0)\n", blocks, rounds);
    for (int v = 0; v < VARIANTS; v++) {
      qsort(s->ns[0][v], blocks, sizeof(double), cmp);
      printf("%-8s %6.1f / %6.1f / %6.1f\n", names[v], s->ns[0][v][blocks / 10], s->ns[0][v][blocks / 2], s->ns[0][v][blocks - 1]);
    }
  }
  return check > 0 ? 0 : 1;
}
