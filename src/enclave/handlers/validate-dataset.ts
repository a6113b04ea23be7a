/**
 * `validate_dataset`: open a sealed dataset and check it against its owner's manifest. The
 * host learns only what the manifest already states: the row count and the schema.
 */
import { openSealedInput } from '../datasets.ts';
import { handler } from './handler.ts';

export const validateDataset = handler('validate_dataset', async (req, cx) => {
  const opened = await openSealedInput(req.input, cx.ctx);
  cx.remember([opened]);
  return { rows: opened.data.rows, schema: opened.data.schema };
});
