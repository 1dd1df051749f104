// DistributedOptimizer: any tf.Optimizer, stepped with gradients averaged over the ranks.
// tf.Optimizer's own methods are synchronous, and an allreduce is not, so this is a wrapper with
// async step()/applyGradients(), not a subclass. model.fit calls its optimizer synchronously
// too, but awaits its callbacks: fitOptimizer() gives fit an optimizer that only collects each
// batch's gradients, and fitCallback() averages and applies them in onBatchEnd (see README).
import * as tf from '@tensorflow/tfjs-core';
import type { Communicator } from '../index.core.js';
import { allReduceGradients, type GradientOptions } from './gradients.js';
import type { NamedTensor } from './tensors.js';

let instances = 0;

export class DistributedOptimizer {
  readonly options: GradientOptions;
  private readonly collector = new GradientCollector();

  /**
   * `options` as allReduceGradients takes them. With a codec that keeps error feedback and no
   * `errorFeedback` prefix, the optimizer makes one of its own, so residuals carry over steps.
   */
  constructor(readonly comm: Communicator, readonly optimizer: tf.Optimizer, options: GradientOptions = {}) {
    this.options = { errorFeedback: `webccl/tfjs/optimizer${++instances}`, ...options };
  }

  /**
   * One training step: `loss` and its gradients computed locally (on this rank's batch), averaged
   * over the ranks, applied by the wrapped optimizer. Returns this rank's loss (the caller disposes it).
   */
  async step(loss: () => tf.Scalar, varList?: tf.Variable[]): Promise<tf.Scalar> {
    const { value, grads } = this.optimizer.computeGradients(loss, varList);
    try {
      await this.applyGradients(grads);
    } catch (error) {
      value.dispose();
      throw error;
    } finally {
      tf.dispose(grads);
    }
    return value;
  }

  /** Averages `grads` over the ranks and applies them; `grads` stay the caller's. */
  async applyGradients(grads: tf.NamedTensorMap | readonly NamedTensor[]): Promise<void> {
    const reduced = await allReduceGradients(this.comm, grads, this.options);
    try {
      this.optimizer.applyGradients(reduced as tf.NamedTensorMap);
    } finally {
      tf.dispose(Array.isArray(reduced) ? (reduced as readonly NamedTensor[]).map((g) => g.tensor) : reduced as tf.NamedTensorMap);
    }
  }

  /** For model.compile({ optimizer }): collects each batch's gradients instead of applying them. */
  fitOptimizer(): tf.Optimizer {
    return this.collector;
  }

  /** For model.fit({ callbacks }): averages and applies the collected gradients at the end of each batch. */
  fitCallback(): { onBatchEnd: () => Promise<void> } {
    return {
      onBatchEnd: async () => {
        const grads = this.collector.take();
        if (!grads) return;
        try {
          await this.applyGradients(grads);
        } finally {
          tf.dispose(grads.map((g) => g.tensor));
        }
      },
    };
  }
}

/** The optimizer model.fit drives: keeps a copy of the batch's gradients for fitCallback(). */
class GradientCollector extends tf.Optimizer {
  static get className(): string {
    return 'WebcclGradientCollector';
  }

  private pending: NamedTensor[] | null = null;

  override applyGradients(grads: tf.NamedTensorMap | NamedTensor[]): void {
    if (this.pending) tf.dispose(this.pending.map((g) => g.tensor));
    const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    // fit disposes its gradients after applyGradients, inside its tidy: keep clones.
    this.pending = list.map(({ name, tensor }) => ({ name, tensor: tf.keep(tensor.clone()) }));
  }

  take(): NamedTensor[] | null {
    const grads = this.pending;
    this.pending = null;
    return grads;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}
