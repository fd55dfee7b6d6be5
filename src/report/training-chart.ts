/** training_progress.png: loss and accuracy per epoch, training vs validation, side by side. */
import type { ChartConfiguration } from 'chart.js';
import type { EpochRecord } from '../model/trainer';
import { writeChartGrid } from './chart-png';

/** The chart's file name inside --plots-dir. */
export const TRAINING_CHART_FILE = 'training_progress.png';

const TRAIN_COLOUR = '#1f77b4';
const VALIDATION_COLOUR = '#ff7f0e';

/** `validationLabel` names the second series ("validation", or "test" when the test set is reported per epoch). */
export async function writeTrainingChart(file: string, history: EpochRecord[], title: string, validationLabel: string): Promise<void> {
  const epochs = history.map((r) => String(r.epoch));
  const hasValidation = history.some((r) => r.val_loss !== null);
  const panel = (metric: string, train: number[], validation: (number | null)[], percent: boolean): ChartConfiguration => ({
    type: 'line',
    data: {
      labels: epochs,
      datasets: [
        series(`training ${metric}`, train, TRAIN_COLOUR),
        ...(hasValidation ? [series(`${validationLabel} ${metric}`, validation, VALIDATION_COLOUR)] : []),
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: `${title}: ${metric} per epoch`, font: { size: 16 } },
        legend: { position: 'bottom' },
      },
      scales: {
        x: { offset: true, title: { display: true, text: 'epoch' } },
        y: {
          title: { display: true, text: percent ? `${metric} (%)` : metric },
          ...(percent ? { suggestedMin: 0, suggestedMax: 100 } : { beginAtZero: true }),
        },
      },
    },
  });
  await writeChartGrid(
    file,
    [
      { column: 0, row: 0, config: panel('loss', history.map((r) => r.loss), history.map((r) => r.val_loss), false) },
      {
        column: 1,
        row: 0,
        config: panel(
          'accuracy',
          history.map((r) => r.accuracy * 100),
          history.map((r) => (r.val_accuracy === null ? null : r.val_accuracy * 100)),
          true,
        ),
      },
    ],
    2,
  );
}

function series(label: string, data: (number | null)[], colour: string) {
  // Points stay visible so a 1-epoch run still shows its values.
  return { label, data, borderColor: colour, backgroundColor: colour, pointRadius: 4, borderWidth: 2, tension: 0 };
}
