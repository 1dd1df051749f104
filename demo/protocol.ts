// What the demo page and its training worker (demo/train-worker.ts) say to each other.
import type { Seat } from './join.js';

/** 'switch' only where the demo server hosts a switch (npm run demo -- --switch). */
export const ALGORITHM_CHOICES = ['ring', 'tree', 'switch'] as const;
export const CODEC_CHOICES = ['none', 'bf16', 'int8', 'onebit'] as const;
export type AlgorithmChoice = (typeof ALGORITHM_CHOICES)[number];
export type CodecChoice = (typeof CODEC_CHOICES)[number];

export interface Controls {
  readonly algorithm: AlgorithmChoice;
  readonly codec: CodecChoice;
}

export interface TrainSettings {
  /** Digits per rank per step. */
  readonly batch: number;
  readonly lr: number;
  readonly hidden: number;
  /** Stop after this many steps (0: train until the tab closes). */
  readonly steps: number;
  /** Test accuracy every this many steps. */
  readonly evalEvery: number;
  /** 'auto' tries TF.js's webgpu backend and falls back to its CPU backend; 'cpu' and 'webgpu' insist. */
  readonly backend: 'auto' | 'cpu' | 'webgpu';
}

/** Page to worker. */
export type ToWorker =
  | { readonly type: 'start'; readonly seat: Seat; readonly settings: TrainSettings; readonly controls: Controls; readonly joinTimeoutMs: number }
  | { readonly type: 'controls'; readonly controls: Controls };

export interface StepReport {
  readonly step: number;
  /** The mean loss over every rank's batch. */
  readonly loss: number;
  /** Test accuracy, on the steps that measure it. */
  readonly accuracy?: number;
  /** Bytes this rank sent for the step's gradient allreduce. */
  readonly bytes: number;
  readonly ms: number;
  /** The settings rank 0 chose for this step. */
  readonly controls: Controls;
  /** FNV-1a of the weights after the step (equal on every rank). */
  readonly checksum: string;
}

/** Worker to page. */
export type FromWorker =
  | { readonly type: 'status'; readonly text: string }
  | { readonly type: 'ready'; readonly backend: string; readonly adapter: string; readonly params: number; readonly float32Bytes: number; readonly transport: string }
  | { readonly type: 'step'; readonly report: StepReport }
  | { readonly type: 'done'; readonly steps: number }
  | { readonly type: 'error'; readonly message: string };
