/** The OpenAPI document's component schemas (openapi.ts): request and response bodies. */
/** An 8x8 PNG: the example body of /predict, so Swagger UI's "Try it out" can Execute at once. */
export const EXAMPLE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAkElEQVQI1w3MoREEIAwEwC/n26CNdIDGoN9gTkdjzqBPx8TQQdp59M7s52u3WZhp2IFtmoeh7Pf59tt6WNfoB32ze3RUfzBvm2FTYx7MzekxUfPBum2FLY11sDaXx0KtB37ba13DD3zTPRzlD3gbw6jBA27Sgyg+0G0Kk4YOtCkPofQgb8uw1MiD3EyPROXvD02AbMGyBAOsAAAAAElFTkSuQmCC';

const nullableNumber = { type: 'number', nullable: true };

/** One entry of /monitoring's `versions`. */
const VERSION_SUMMARY = {
  type: 'object',
  properties: {
    version: { type: 'string' },
    labels: { type: 'array', items: { type: 'string' }, description: 'registry labels pointing at it (latest included when it is the newest)' },
    role: { type: 'string', enum: ['stable', 'canary', 'shadow', 'other'] },
    traffic_percent: { type: 'number', description: 'its share of unpinned traffic' },
    requests: { type: 'integer', description: 'prediction requests it answered since it started serving' },
    errors: { type: 'integer', description: 'of those, failed with its own error (5xx other than 503)' },
    error_rate: nullableNumber,
    latency_p95_ms: { ...nullableNumber, description: 'over its last window of requests' },
    estimated_accuracy: { type: 'object', nullable: true },
    window: { type: 'object', properties: { size: { type: 'integer' }, samples: { type: 'integer' } } },
  },
};

export const SCHEMAS = {
  Ping: { type: 'object', properties: { status: { type: 'string', example: 'healthy' }, model_loaded: { type: 'boolean' } } },
  ModelInfo: {
    type: 'object',
    properties: {
      model_type: { type: 'string' },
      num_classes: { type: 'integer' },
      class_names: { type: 'array', items: { type: 'string' } },
      test_accuracy: { type: 'number' },
      input_shape: { type: 'array', items: { type: 'integer' } },
      version: { type: 'string' },
      engine: { type: 'string' },
      created_at: { type: 'string', format: 'date-time' },
    },
  },
  PredictRequest: {
    type: 'object',
    required: ['image_base64'],
    properties: { image_base64: { type: 'string', description: 'base64 image bytes or a data: URL', example: EXAMPLE_PNG_BASE64 } },
  },
  Prediction: {
    type: 'object',
    properties: {
      predicted_class: { type: 'string' },
      confidence: { type: 'number' },
      all_probabilities: { type: 'object', additionalProperties: { type: 'number' } },
      model_version: { type: 'string' },
      latency_ms: { type: 'number' },
    },
  },
  Monitoring: {
    type: 'object',
    properties: {
      model_version: { type: 'string' },
      window: {
        type: 'object',
        properties: {
          size: { type: 'integer' },
          samples: { type: 'integer' },
          min_samples: { type: 'integer' },
          total: { type: 'integer' },
          reference_samples: { type: 'integer', nullable: true, description: 'reference images the drift tests compare with (null without a reference)' },
        },
      },
      drift: {
        type: 'object',
        properties: {
          detected: { type: 'boolean', nullable: true, description: 'null: not tested (too few samples, or a model without calibration; see reason)' },
          alpha: { type: 'number' },
          p_value: { type: 'number', nullable: true },
          reason: { type: 'string', nullable: true },
          tests: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string', description: "the test: 'ks' or 'chi_square'" },
                family: { type: 'string', enum: ['softmax', 'predicted_class', 'input'] },
                signal: { type: 'string' },
                statistic: { type: 'number' },
                p_value: { type: 'number' },
                corrected_p_value: { type: 'number', description: 'the p-value corrected for the number of tests: detected when at most alpha' },
                detected: { type: 'boolean' },
              },
            },
          },
        },
      },
      estimated_accuracy: {
        type: 'object',
        nullable: true,
        properties: { method: { type: 'string' }, value: { type: 'number' }, ci_low: { type: 'number' }, ci_high: { type: 'number' }, confidence_level: { type: 'number' } },
      },
      reference_accuracy: { type: 'number', nullable: true },
      class_names: { type: 'array', items: { type: 'string' } },
      class_distribution: { type: 'object', properties: { current: { type: 'array', items: { type: 'number' } }, reference: { type: 'array', nullable: true, items: { type: 'number' } } } },
      confidence_histogram: {
        type: 'object',
        properties: {
          bin_edges: { type: 'array', items: { type: 'number' } },
          current: { type: 'array', items: { type: 'number' } },
          reference: { type: 'array', nullable: true, items: { type: 'number' } },
        },
      },
      history: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            ended_at: { type: 'string', format: 'date-time' },
            samples: { type: 'integer' },
            drift_detected: { type: 'boolean', nullable: true },
            min_p_value: { type: 'number', nullable: true },
            estimated_accuracy: { type: 'number', nullable: true },
          },
        },
      },
      unavailable: { type: 'string', description: 'Why drift tests or the estimate cannot be computed for this model' },
      versions: { type: 'array', description: 'Every served version, the stable one first (absent with ?version=)', items: { $ref: '#/components/schemas/VersionSummary' } },
      shadow: {
        type: 'object',
        nullable: true,
        description: 'serve --shadow: the shadow version next to the primary, over every worker (null without a shadow)',
        properties: {
          version: { type: 'string' },
          primary_version: { type: 'string' },
          compared: { type: 'integer' },
          agreement: nullableNumber,
          mean_confidence_diff: nullableNumber,
          latency_p95_ms: nullableNumber,
          skipped: { type: 'integer' },
        },
      },
      rollback: {
        type: 'object',
        nullable: true,
        description: 'serve --rollback-if: the rule and the last automatic rollback (null without --rollback-if)',
        properties: {
          rule: { type: 'string' },
          after: { type: 'integer' },
          triggered_at: { type: 'string', format: 'date-time' },
          from: { type: 'string' },
          to: { type: 'string' },
          reason: { type: 'string' },
        },
      },
    },
  },
  Error: {
    type: 'object',
    properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
  },
  VersionSummary: VERSION_SUMMARY,
};
