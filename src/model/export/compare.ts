/** How an exported model's probabilities compare with the float32 model's on the same images. */

export interface ProbabilityComparison {
  /** Top-1 accuracy of the candidate and of the reference against the labels. */
  accuracy: number;
  referenceAccuracy: number;
  /** Fraction of images whose top class is the same in both. */
  agreement: number;
  /** Largest absolute difference between any two corresponding probabilities. */
  maxAbsDiff: number;
}

function argmaxRow(probabilities: Float32Array, row: number, numClasses: number): number {
  let best = 0;
  for (let c = 1; c < numClasses; c++) if (probabilities[row * numClasses + c] > probabilities[row * numClasses + best]) best = c;
  return best;
}

/** Both arrays are row-major [labels.length, numClasses]. */
export function compareProbabilities(candidate: Float32Array, reference: Float32Array, labels: Uint8Array, numClasses: number): ProbabilityComparison {
  if (candidate.length !== reference.length || candidate.length !== labels.length * numClasses) {
    throw new Error(`probability arrays of ${candidate.length} and ${reference.length} values do not match ${labels.length} images x ${numClasses} classes`);
  }
  let correct = 0;
  let referenceCorrect = 0;
  let agree = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = argmaxRow(candidate, i, numClasses);
    const expected = argmaxRow(reference, i, numClasses);
    if (predicted === labels[i]) correct += 1;
    if (expected === labels[i]) referenceCorrect += 1;
    if (predicted === expected) agree += 1;
  }
  let maxAbsDiff = 0;
  for (let i = 0; i < candidate.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(candidate[i] - reference[i]));
  const n = labels.length;
  return { accuracy: correct / n, referenceAccuracy: referenceCorrect / n, agreement: agree / n, maxAbsDiff };
}
