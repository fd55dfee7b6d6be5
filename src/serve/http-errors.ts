/**
 * The one error shape every non-2xx response uses: `{"error": {"code", "message"}}`.
 * Handlers throw HttpError; the app's error handler maps everything else without leaking stacks.
 */
import { ImageDecodeError } from '../preprocess';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * Image decode failures are the client's fault: 400, 413 when the declared size is too big,
 * 422 when a well-formed-looking image overran the decode time or heap budget.
 */
const DECODE_STATUS: Record<ImageDecodeError['code'], number> = {
  empty_image: 400,
  unsupported_image: 400,
  corrupt_image: 400,
  image_too_large: 413,
  image_decode_timeout: 422,
  image_decode_out_of_memory: 422,
};

export function httpErrorFromDecode(err: ImageDecodeError, where: string): HttpError {
  return new HttpError(DECODE_STATUS[err.code], err.code, `${where}: ${err.message}`);
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
  message?: string;
}

interface MulterLikeError {
  name?: string;
  code?: string;
  field?: string;
}

/** Maps errors thrown by body parsers, multer and handlers to an HTTP status + body. */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof ImageDecodeError) return httpErrorFromDecode(err, 'image');
  const parserError = err as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', 'the request body exceeds the size limit');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_encoding', parserError.message ?? 'unsupported body encoding');
    case 'request.aborted':
      return new HttpError(400, 'request_aborted', 'the request was aborted by the client');
    default:
      break;
  }
  const multerError = err as MulterLikeError;
  if (multerError?.name === 'MulterError') {
    if (multerError.code === 'LIMIT_FILE_SIZE') return new HttpError(413, 'payload_too_large', 'the uploaded file exceeds the size limit');
    if (multerError.code === 'LIMIT_UNEXPECTED_FILE') {
      return new HttpError(400, 'unexpected_field', `unexpected multipart field "${multerError.field ?? ''}" (send the image as field "file")`);
    }
    return new HttpError(400, 'invalid_multipart', `invalid multipart upload (${multerError.code ?? 'error'})`);
  }
  // busboy reports malformed multipart bodies as plain Errors.
  const message = (err as Error)?.message ?? '';
  if (/multipart|boundary|unexpected end of form|malformed part header/i.test(message)) {
    return new HttpError(400, 'invalid_multipart', 'the multipart body is malformed');
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500 && parserError.expose) {
    return new HttpError(parserError.status, 'bad_request', parserError.message ?? 'bad request');
  }
  return undefined;
}
