/**
 * Typed failures. Library code throws these; only the CLI entry turns them into
 * an exit code and one line on stderr (usage: 2, everything else: 1).
 */
export class MldeployError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The caller asked for something malformed or impossible: exit 2. */
export class UsageError extends MldeployError {
  override readonly exitCode = 2;
}

/** Input data (archives, images, files on disk) is missing, corrupt or of the wrong form. */
export class DataError extends MldeployError {}

/** A saved model or one of its files cannot be used. */
export class ModelError extends MldeployError {}
