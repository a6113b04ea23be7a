/**
 * How a job preview (a dry run's answer) reads on the page, alike in the analyst's dry run
 * and in the owner's approval card: its privacy cost and the warnings that deserve a look.
 */
import type { JobPreview } from '../../../../contracts/api-schemas.ts';
import { h, num } from './dom.ts';

/** A privacy cost as ε and δ. */
export const costText = (c: JobPreview['cost']): string => `ε ${num(c.epsilon)}, δ ${num(c.delta)}`;

/** The preview's warnings as a note, each with its code; null when there are none. */
export function warningsNote(warnings: JobPreview['warnings']): HTMLElement | null {
  return warnings.length
    ? h(
        'ul',
        { class: 'note' },
        warnings.map((w) => h('li', {}, `${w.detail} (${w.code})`)),
      )
    : null;
}
