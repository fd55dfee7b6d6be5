import * as os from 'node:os';
import { Command, Option } from 'commander';
import { skippedNote } from '../model/engine';
import { parseServingBackendChoice, SERVING_BACKEND_CHOICES, ServingBackendChoice } from '../model/onnx/serving';
import { DEFAULT_BATCHING, DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_LOG_DIR, DEFAULT_MODEL_NAME, DEFAULT_PORT, runServe, type ServeOptions } from '../serve';
import { DEFAULT_MONITOR_WINDOW } from '../monitor/window';
import { versionsSummary } from '../serve/ready-summary';
import { canaryOption, DEFAULT_CANARY_KEY_HEADER, parseHeaderName, parsePercent } from '../serve/routing';
import { integer, positiveNumber } from './option-parsers';
import { UsageError } from '../errors';
import type { RollbackSetting } from '../rollout/server-rollout';

interface ServeCommandOptions {
  model: string;
  port: string;
  host: string;
  workers: string;
  logDir: string;
  apiKey?: string;
  cors?: string;
  backend: ServingBackendChoice;
  modelName: string;
  headersTimeout: string;
  requestTimeout: string;
  keepAliveTimeout: string;
  maxConnections: string;
  maxQueue: string;
  monitorWindow: string;
  monitor: boolean;
  canary?: string;
  canaryPercent?: string;
  canaryKeyHeader: string;
  shadow?: string;
  shadowShare: string;
  rollbackIf?: string;
  rollbackAfter?: string;
}

/** --rollback-if with its --rollback-after (default: the monitor window); --rollback-after alone is a usage error. */
function rollbackOption(rule: string | undefined, after: string | undefined, window: string): RollbackSetting | undefined {
  if (rule === undefined) {
    if (after !== undefined) throw new UsageError('--rollback-after needs --rollback-if <rule>');
    return undefined;
  }
  return { rule, after: integer('--rollback-after', 1)(after ?? window) };
}

const seconds = (option: string) => (value: string) => Math.round(positiveNumber(option)(value) * 1000);

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the trained model (or a models dir: stable, labelled and canary versions) over HTTP (workshop JSON, multipart, batch, TF Serving REST, /metrics)')
    .option('--model <path>', 'a version dir or <models-dir>/latest (that version), or a models dir (its stable version, else the newest, plus every labelled version; label changes apply live)', 'saved_models/latest')
    .option('--canary <version:percent>', 'send this share of unpinned traffic (decimals allowed) to a version of the models dir, e.g. v3_2026_12_01:10')
    .option('--canary-percent <p>', 'send this share of unpinned traffic to the version the "canary" label points at (follows the label)')
    .option('--shadow <version>', 'also predict every answered request on this version of the models dir, after answering, and compare (/metrics, /monitoring); default: the version the "shadow" label points at')
    .option('--shadow-share <percent>', 'shadow only this share of the requests, spread evenly (each shadow prediction takes CPU from the requests arriving meanwhile)', '100')
    .option('--rollback-if <rule>', "move stable back to its previous version by itself when this holds on its live figures, e.g. 'estimated_accuracy<0.6' or drift_detected (quote it; figures: estimated_accuracy, drift_detected, p_value, error_rate, latency_p95_ms)")
    .option('--rollback-after <n>', 'decide --rollback-if once per this many new predictions of the stable version (default: the monitor window)')
    .option('--canary-key-header <name>', 'request header that keeps a client on one side of the split (without it: the x-request-id)', DEFAULT_CANARY_KEY_HEADER)
    .addOption(new Option('--port <n>', 'port to listen on (0 = any free port)').env('PORT').default(String(DEFAULT_PORT)))
    .addOption(new Option('--host <address>', 'address to bind (0.0.0.0 for every interface)').env('HOST').default(DEFAULT_HOST))
    .option('--workers <n>', 'processes sharing the port (node:cluster)', String(os.availableParallelism()))
    .option('--log-dir <dir>', 'where predictions.jsonl and server.log go', DEFAULT_LOG_DIR)
    .addOption(new Option('--api-key <key>', 'require this key on prediction and admin routes').env('MLDEPLOY_API_KEY'))
    .option('--cors <origins>', 'allow these browser origins (comma-separated, or *)')
    .addOption(
      new Option('--backend <engine>', 'engine: a tfjs one, or onnx (model.onnx from "mldeploy export" in ONNX Runtime); auto: onnx when exported, else node, wasm, cpu')
        .choices(SERVING_BACKEND_CHOICES)
        .default('auto')
        .argParser(parseServingBackendChoice),
    )
    .option('--model-name <name>', 'model name in TF Serving routes (/v1/models/<name>)', DEFAULT_MODEL_NAME)
    .option('--headers-timeout <s>', 'close connections that have not sent their headers within this (slow clients)', String(DEFAULT_LIMITS.headersTimeoutMs / 1000))
    .option('--request-timeout <s>', 'close connections whose request has not fully arrived within this', String(DEFAULT_LIMITS.requestTimeoutMs / 1000))
    .option('--keep-alive-timeout <s>', 'close idle keep-alive connections after this', String(DEFAULT_LIMITS.keepAliveTimeoutMs / 1000))
    .option('--max-connections <n>', 'open connections per worker; more are closed at once', String(DEFAULT_LIMITS.maxConnections))
    .option('--max-queue <images>', 'images waiting for the model per worker; beyond it, 503 + Retry-After', String(DEFAULT_BATCHING.maxQueuedImages))
    .option('--monitor-window <n>', 'predictions in the rolling drift/accuracy window behind GET /monitoring', String(DEFAULT_MONITOR_WINDOW))
    .option('--no-monitor', 'no rolling monitor (GET /monitoring answers 404, no monitoring gauges)')
    .action(async (options: ServeCommandOptions) => {
      const serveOptions: ServeOptions = {
        modelPath: options.model,
        port: integer('--port', 0, 65535)(options.port),
        host: options.host,
        workers: integer('--workers', 1, 64)(options.workers),
        logDir: options.logDir,
        apiKey: options.apiKey || undefined,
        cors: options.cors,
        backend: options.backend,
        modelName: options.modelName,
        limits: {
          headersTimeoutMs: seconds('--headers-timeout')(options.headersTimeout),
          requestTimeoutMs: seconds('--request-timeout')(options.requestTimeout),
          keepAliveTimeoutMs: seconds('--keep-alive-timeout')(options.keepAliveTimeout),
          maxConnections: integer('--max-connections', 1)(options.maxConnections),
        },
        batching: { maxQueuedImages: integer('--max-queue', 1)(options.maxQueue) },
        monitor: options.monitor && { window: integer('--monitor-window', 1, 1_000_000)(options.monitorWindow) },
        canary: canaryOption(options.canary, options.canaryPercent),
        canaryKeyHeader: parseHeaderName('--canary-key-header', options.canaryKeyHeader),
        pinned: options.shadow ? [{ version: options.shadow, role: 'shadow' }] : undefined,
        shadowShare: parsePercent('--shadow-share', options.shadowShare) / 100,
        rollback: rollbackOption(options.rollbackIf, options.rollbackAfter, options.monitorWindow),
      };
      await runServe(serveOptions, {
        ready: (info) => {
          const versions = versionsSummary(info.versions, serveOptions);
          process.stdout.write(
            `mldeploy serve: listening on ${info.url} | model ${info.version} | engine ${info.engine}${skippedNote(info.engineSkipped)} | ` +
              `${info.workers} worker${info.workers === 1 ? '' : 's'} | ready in ${info.startupMs} ms\n` +
              (versions ? `  ${versions}\n` : '') +
              `  docs ${info.url}/docs | metrics ${info.url}/metrics | logs ${info.logDir}/\n`,
          );
        },
        notice: (message) => process.stdout.write(`mldeploy serve: ${message}\n`),
      });
    });
}
