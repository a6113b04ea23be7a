/**
 * The expression language: tokenizer, precedence, typing, the SQL it produces (literals
 * always bound, identifiers always quoted and checked) and injection attempts, including
 * a property test over arbitrary Unicode input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../src/data/index.ts';
import {
  compileExpression,
  ExpressionError,
  tokenize,
  UnknownColumnError,
} from '../../src/pipelines/expr/index.ts';
import { Params, shiftParams } from '../../src/pipelines/sql.ts';

const COLUMNS = new Map<string, ColumnType>([
  ['age', 'int64'],
  ['small', 'int32'],
  ['cost', 'float64'],
  ['region', 'string'],
  ['readmitted', 'bool'],
  ['visit_date', 'date'],
  ['seen_at', 'timestamp'],
]);

function sql(src: string) {
  const params = new Params();
  const out = compileExpression(src, COLUMNS, params);
  return { sql: out.sql, type: out.type, params: params.list.map((p) => p.value), columns: out.columns };
}

/** Integer arithmetic as compiled: computed in a wider type (BIGINT for int32, HUGEINT for int64), narrowed back with TRY_CAST (NULL on overflow). */
function int(hugeint: string, type = 'BIGINT'): string {
  return `TRY_CAST(${hugeint} AS ${type})`;
}

function refused(src: string): ExpressionError {
  try {
    compileExpression(src, COLUMNS, new Params());
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(src)} to be refused`);
}

describe('shiftParams', () => {
  it('renumbers placeholders but not text inside quoted identifiers', () => {
    expect(shiftParams('SELECT "a$1", "b""$2" FROM t WHERE (x = $1) AND y IN ($2, $10)', 3)).toBe(
      'SELECT "a$1", "b""$2" FROM t WHERE (x = $4) AND y IN ($5, $13)',
    );
    expect(shiftParams('x = $1', 0)).toBe('x = $1');
  });
});

describe('tokenizer', () => {
  it('splits identifiers, keywords (any case), numbers, strings and operators', () => {
    expect(tokenize("age >= 1.5e3 and Region <> 'it''s'").map((t) => [t.kind, t.text, t.pos])).toEqual([
      ['ident', 'age', 0],
      ['op', '>=', 4],
      ['number', '1.5e3', 7],
      ['keyword', 'AND', 13],
      ['ident', 'Region', 17],
      ['op', '<>', 24],
      ['string', "it's", 27],
      ['eof', '', 34],
    ]);
  });
});

describe('compiling', () => {
  it('binds every literal and quotes every column', () => {
    expect(sql("age >= 18 AND region IN ('north', 'south')")).toEqual({
      sql: '(("age" >= $1) AND ("region" IN ($2, $3)))',
      type: 'bool',
      params: [18, 'north', 'south'],
      columns: ['age', 'region'],
    });
  });

  it('follows SQL precedence', () => {
    // Float columns: integer arithmetic adds overflow guards (tested below) that would hide the shape.
    expect(sql('cost + cost * 2 - 1').sql).toBe('(("cost" + ("cost" * $1)) - $2)');
    expect(sql('NOT readmitted OR age > 1 AND cost < 2').sql).toBe(
      '((NOT "readmitted") OR (("age" > $1) AND ("cost" < $2)))',
    );
    expect(sql('NOT age = 1').sql).toBe('(NOT ("age" = $1))');
    expect(sql('-cost * -2').sql).toBe('((-"cost") * $1)');
    expect(sql('-cost * -2').params).toEqual([-2]);
    expect(sql('(cost + 1) * 2').sql).toBe('(("cost" + $1) * $2)');
    expect(sql('cost BETWEEN 1.0 + 1 AND 10 OR cost IS NULL').sql).toBe(
      '(("cost" BETWEEN ($1 + $2) AND $3) OR ("cost" IS NULL))',
    );
    expect(sql('-age * -2').sql).toBe(
      int(`(CAST(${int('(-CAST("age" AS HUGEINT))')} AS HUGEINT) * CAST($1 AS HUGEINT))`),
    );
  });

  it('supports the whole language', () => {
    const cases: [string, string, string][] = [
      ['age NOT IN (1, 2)', '("age" NOT IN ($1, $2))', 'bool'],
      ['age NOT BETWEEN 1 AND 2', '("age" NOT BETWEEN $1 AND $2)', 'bool'],
      ['cost IS NOT NULL', '("cost" IS NOT NULL)', 'bool'],
      [
        "CASE WHEN age < 18 THEN 'minor' WHEN age < 65 THEN 'adult' ELSE 'senior' END",
        '(CASE WHEN ("age" < $1) THEN $2 WHEN ("age" < $3) THEN $4 ELSE $5 END)',
        'string',
      ],
      ['CASE WHEN readmitted THEN cost END', '(CASE WHEN "readmitted" THEN "cost" END)', 'float64'],
      [
        'abs(cost) + floor(cost) + ceil(cost) + round(cost, 2) + round(cost)',
        '((((abs("cost") + floor("cost")) + ceil("cost")) + round("cost", $1)) + round("cost"))',
        'float64',
      ],
      ['abs(age)', int('abs(CAST("age" AS HUGEINT))'), 'int64'],
      [
        'round(small, -1) + round(small)',
        int(
          `(CAST(${int('round(CAST("small" AS BIGINT), $1)', 'INTEGER')} AS BIGINT) + CAST(round("small") AS BIGINT))`,
          'INTEGER',
        ),
        'int32',
      ],
      ['ln(cost) + exp(1)', '(ln(nullif(greatest("cost", 0), 0)) + exp($1))', 'float64'],
      [
        'sqrt(age)',
        'list_transform(["age"], lambda "__obscura_x": CASE WHEN "__obscura_x" >= 0 THEN sqrt("__obscura_x") END)[1]',
        'float64',
      ],
      ["lower(region) = upper('x')", '(lower("region") = upper($1))', 'bool'],
      ['length(region)', 'length("region")', 'int64'],
      ['coalesce(cost, age, 0)', 'coalesce("cost", "age", $1)', 'float64'],
      ['year(visit_date) * 100', int('(CAST(year("visit_date") AS HUGEINT) * CAST($1 AS HUGEINT))'), 'int64'],
      ['small + small', int('(CAST("small" AS BIGINT) + CAST("small" AS BIGINT))', 'INTEGER'), 'int32'],
      ['age / 2', '("age" / $1)', 'float64'],
      [
        'age % 7 = 0',
        '(("age" % list_transform([$1], lambda "__obscura_d": CASE WHEN "__obscura_d" = -1 THEN 1 ELSE "__obscura_d" END)[1]) = $2)',
        'bool',
      ],
      ["visit_date >= '2024-06-01'", '("visit_date" >= CAST($1 AS DATE))', 'bool'],
      ["'2024-06-01' < visit_date", '(CAST($1 AS DATE) < "visit_date")', 'bool'],
      ["seen_at < '2024-06-01T10:00:00Z'", '("seen_at" < make_timestamp($1))', 'bool'],
      [
        "visit_date IN ('2024-01-01', '2024-01-02')",
        '("visit_date" IN (CAST($1 AS DATE), CAST($2 AS DATE)))',
        'bool',
      ],
      ['readmitted = TRUE AND cost <> NULL', '(("readmitted" = $1) AND ("cost" <> NULL))', 'bool'],
      ['age == 1 OR age != 2', '(("age" = $1) OR ("age" <> $2))', 'bool'],
      [
        'quarter(visit_date) + week(visit_date)',
        int('(CAST(quarter("visit_date") AS HUGEINT) + CAST(week("visit_date") AS HUGEINT))'),
        'int64',
      ],
      ['dayofyear(seen_at)', 'dayofyear("seen_at")', 'int64'],
      ['dayofweek(visit_date) >= 6', '(isodow("visit_date") >= $1)', 'bool'],
      [
        'hour(seen_at) + minute(seen_at) > second(seen_at)',
        `(${int('(CAST(hour("seen_at") AS HUGEINT) + CAST(minute("seen_at") AS HUGEINT))')} > second("seen_at"))`,
        'bool',
      ],
      ['Year(visit_date) = YEAR(seen_at)', '(year("visit_date") = year("seen_at"))', 'bool'],
      [
        "CASE WHEN cost IS NULL THEN 'none' WHEN cost NOT BETWEEN 0 AND 10 THEN 'out' END",
        '(CASE WHEN ("cost" IS NULL) THEN $1 WHEN ("cost" NOT BETWEEN $2 AND $3) THEN $4 END)',
        'string',
      ],
      [
        "lower(coalesce(region, 'x')) NOT IN ('a', 'b')",
        '(lower(coalesce("region", $1)) NOT IN ($2, $3))',
        'bool',
      ],
      [
        'NOT (readmitted AND age > 1) OR cost IS NULL',
        '((NOT ("readmitted" AND ("age" > $1))) OR ("cost" IS NULL))',
        'bool',
      ],
    ];
    for (const [src, out, type] of cases) {
      const got = sql(src);
      expect(got.sql, src).toBe(out);
      expect(got.type, src).toBe(type);
    }
    expect(sql("seen_at < '2024-06-01T10:00:00Z'").params).toEqual([Date.UTC(2024, 5, 1, 10) * 1000]);
  });

  it('refuses ill-typed expressions at the right offset', () => {
    const cases: [string, number, string][] = [
      ['region + 1', 7, "'+' needs numbers"],
      ['age AND readmitted', 4, 'AND needs true/false'],
      ["age = 'x'", 4, 'cannot compare'],
      ["visit_date = '2024-02-30'", 13, 'expected a date'],
      ['NOT age', 0, 'NOT needs'],
      ['lower(age)', 0, 'lower needs a string'],
      ['year(age)', 0, 'year needs a date'],
      ['CASE WHEN age THEN 1 END', 10, 'WHEN needs'],
      ["CASE WHEN readmitted THEN 1 ELSE 'x' END", 33, 'incompatible'],
      ['round(cost, age)', 12, 'round takes a whole number'],
      ['abs(1, 2)', 0, 'abs takes 1 argument'],
      ['99999999999999999999 > age', 0, 'out of range'],
      ['hour(visit_date)', 0, 'hour needs a timestamp'],
      ['quarter(region)', 0, 'quarter needs a date'],
      ['dayofweek()', 0, 'dayofweek takes 1 argument'],
      ['week(visit_date, 1)', 0, 'week takes 1 argument'],
      ['isodow(visit_date)', 0, "unknown function 'isodow'"],
      ['date_trunc(visit_date)', 0, "unknown function 'date_trunc'"],
      ["age BETWEEN 'a' AND 2", 4, 'BETWEEN bounds'],
      ["age IN (1, 'x')", 11, 'cannot compare'],
      ['CASE WHEN age > 1 THEN 1 END END', 29, 'unexpected'],
      ['age IS NOT', 10, "expected 'NULL'"],
    ];
    for (const [src, offset, reason] of cases) {
      const e = refused(src);
      expect(e.reason, src).toContain(reason);
      expect(e.offset, src).toBe(offset);
    }
  });

  it('names unknown columns', () => {
    const e = refused('cost > 1 AND agee > 2');
    expect(e).toBeInstanceOf(UnknownColumnError);
    expect((e as UnknownColumnError).column).toBe('agee');
    expect(e.offset).toBe(13);
  });
});

describe('injection attempts are refused', () => {
  const attempts: [string, number][] = [
    ['1; DROP TABLE x', 1],
    ['age >= 18; DROP TABLE input_0', 9],
    ["read_csv('/etc/passwd')", 0],
    ["age > 0 OR read_parquet('x') IS NULL", 11],
    ["getenv('HOME') = 'x'", 0],
    ["current_setting('threads') > 0", 0],
    ['"age" > 1', 0],
    ['age" OR 1=1 --', 3],
    ['age > 1 -- comment', 8],
    ['age > 1 /* comment */', 8],
    ['age > (SELECT max(age) FROM input_0)', 14],
    ['input_0.age > 1', 7],
    ['age::VARCHAR', 3],
    ["region || 'x'", 7],
    ['age > $1', 6],
    ['age > ?', 6],
    ['`age` > 1', 0],
    ['[age] > 1', 0],
    ['\u0430ge > 1', 0], // Cyrillic а
    ['age\u200b > 1', 3], // zero-width space
    ['\uff41\uff47\uff45 > 1', 0], // full-width letters
    ['age > 1 \u202e', 8], // right-to-left override
    ['age\u00a0> 1', 3], // no-break space
    ["region = 'x' \\", 13],
    ['age > 1e', 6],
    ['1abc', 0],
    ['CASE age WHEN 1 THEN 2 END', 5],
    ["'unterminated", 0],
    ['constructor(age)', 0],
    ['__proto__(age)', 0],
  ];
  for (const [src, offset] of attempts) {
    it(JSON.stringify(src), () => {
      const e = refused(src);
      expect(e.offset).toBe(offset);
    });
  }

  it('keeps hostile string literals out of the SQL text', () => {
    const src = "region = 'x''; DROP TABLE input_0; --' OR region = 'back\\slash' OR region = '\"; SELECT 1'";
    const out = sql(src);
    expect(out.sql).toBe('((("region" = $1) OR ("region" = $2)) OR ("region" = $3))');
    expect(out.params).toEqual(["x'; DROP TABLE input_0; --", 'back\\slash', '"; SELECT 1']);
  });

  it('bounds nesting and list length', () => {
    expect(refused(`${'('.repeat(200)}age${')'.repeat(200)} > 1`).reason).toContain('nested too deeply');
    expect(refused(`${'-'.repeat(1)}${'NOT '.repeat(100)}readmitted`).reason).toContain('nested too deeply');
    expect(refused(`age IN (${Array.from({ length: 1001 }, (_, i) => i).join(', ')})`).reason).toContain(
      'at most 1000',
    );
  });

  it('never lets arbitrary input produce anything but checked identifiers, placeholders and fixed SQL', () => {
    const allowed =
      /^(?:\s|"(?:age|small|cost|region|readmitted|visit_date|seen_at)"|\$\d+|[()+\-*/%=<>,]|<>|<=|>=|NULL|NOT|AND|OR|IN|BETWEEN|IS|CASE|WHEN|THEN|ELSE|END|CAST|TRY_CAST|HUGEINT|INTEGER|BIGINT|AS|DATE|make_timestamp|greatest|nullif|0|1|list_transform|lambda|"__obscura_x"|"__obscura_d"|\[|\]|\[1\]|:|abs|floor|ceil|round|ln|exp|sqrt|lower|upper|length|coalesce|year|quarter|month|week|day|isodow|dayofyear|hour|minute|second)+$/;
    const pieces = fc.constantFrom(
      'age',
      'cost',
      'region',
      'readmitted',
      'visit_date',
      ' ',
      '(',
      ')',
      ',',
      "'",
      "''",
      '"',
      ';',
      '--',
      '/*',
      '+',
      '-',
      '*',
      '/',
      '=',
      '<',
      '>',
      'AND',
      'OR',
      'NOT',
      'IN',
      'IS',
      'NULL',
      'BETWEEN',
      'CASE',
      'WHEN',
      'THEN',
      'ELSE',
      'END',
      'abs',
      'lower',
      'read_csv',
      'SELECT',
      'DROP',
      'dayofweek',
      'hour',
      'quarter',
      'seen_at',
      'coalesce',
      'round',
      'input_0',
      'getenv',
      '1',
      '2.5',
      "'2024-01-01'",
      "'x'",
      '\u0430',
      '\u200b',
      '$1',
      '?',
      ':',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(pieces, { maxLength: 12 }).map((xs) => xs.join('')),
          fc.string({ unit: 'binary', maxLength: 40 }),
        ),
        (src) => {
          let out: string;
          try {
            out = compileExpression(src, COLUMNS, new Params()).sql;
          } catch (e) {
            expect(e).toBeInstanceOf(ExpressionError);
            const { offset } = e as ExpressionError;
            expect(offset >= 0 && offset <= src.length).toBe(true);
            return;
          }
          expect(out).toMatch(allowed);
          expect(out).not.toContain('--');
          expect(out).not.toContain(';');
          expect(out).not.toContain("'");
        },
      ),
      { numRuns: 3000 },
    );
  });
});
