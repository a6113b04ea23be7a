/**
 * Liveness: walking from the outputs back to the inputs, which columns must each relation
 * (input or step) hold? Only those are loaded and carried, so a pipeline reads — and an
 * owner is shown, as `columnsRead` — exactly the input columns its outputs depend on.
 */
import type { AnalysedStep, Relation } from './steps/types.ts';

/**
 * Live columns by relation name, for steps (in document order) feeding `outputs`.
 * Relations absent from the result are not needed at all. A relation that is read keeps
 * at least one column even when only its rows are counted: a non-string one where
 * possible (cheaper to load, and rarely an identifier).
 */
export function liveColumns(
  stepIds: readonly string[],
  analysed: ReadonlyMap<string, AnalysedStep>,
  relations: ReadonlyMap<string, Relation>,
  outputs: readonly string[],
): Map<string, Set<string>> {
  const live = new Map<string, Set<string>>();
  const need = (relation: string, columns: Iterable<string>) => {
    const set = live.get(relation) ?? new Set<string>();
    for (const c of columns) set.add(c);
    live.set(relation, set);
  };
  const atLeastOne = (name: string, set: Set<string>) => {
    const columns = relations.get(name)?.columns ?? [];
    const pick = columns.find((c) => c.type !== 'string') ?? columns[0];
    if (set.size === 0 && pick) set.add(pick.name);
  };
  for (const name of outputs)
    need(
      name,
      (analysed.get(name) as AnalysedStep).columns.map((c) => c.name),
    );
  for (let i = stepIds.length - 1; i >= 0; i--) {
    const id = stepIds[i] as string;
    const wanted = live.get(id);
    if (!wanted) continue;
    atLeastOne(id, wanted);
    for (const [source, columns] of (analysed.get(id) as AnalysedStep).needs(wanted)) need(source, columns);
  }
  for (const [name, set] of live) atLeastOne(name, set);
  return live;
}
