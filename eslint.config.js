import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/.tap/**', '**/coverage/**', '**/node_modules/**', '**/bench/results/**']
  }),
  {
    rules: {
      // A TypeBox schema and its static type share one name (`const X` and `type X`).
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
