/** In-memory image sets: uint8 pixels stay uint8 until a batch is normalized. */
export interface ImageSet {
  /** count x 32 x 32 x 3 RGB bytes, HWC per image. */
  pixels: Uint8Array;
  /** One class index per image. */
  labels: Uint8Array;
  count: number;
}

export interface LoadedDataset {
  train: ImageSet;
  test: ImageSet;
  classNames: string[];
  /** Where it came from (path or URL), for metadata.dataset.source. */
  source: string;
  /** cifar10-binary | class-folders */
  format: string;
  /** sha256 (or the official md5) identifying the exact data. */
  digest: string;
}

/** Long data steps (download, extract, read, decode) report through this; callers draw the bar. */
export interface DataProgress {
  phase: 'download' | 'extract' | 'read' | 'decode';
  done: number;
  /** 0 when unknown (a download without content-length). */
  total: number;
}
export type ProgressCallback = (progress: DataProgress) => void;
