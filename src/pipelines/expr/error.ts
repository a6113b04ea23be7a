/**
 * The one error the expression tokenizer, parser and compiler throw: a reason and the
 * character offset (UTF-16 code units from the start of the expression) where it applies.
 * Callers turn it into 'pipeline_expression_invalid' with the step and document path.
 */

/** A refused expression: `reason` at `offset`. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} at offset ${offset}`);
  }
}

/** An expression names a column the step's input does not have. */
export class UnknownColumnError extends ExpressionError {
  constructor(
    readonly column: string,
    offset: number,
    hint?: string,
  ) {
    super(`unknown column '${column}'${hint ? ` (did you mean ${hint}?)` : ''}`, offset);
  }
}
