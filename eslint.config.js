// ESLint flat config: the Google TypeScript style (gts), over our own sources only.
import gts from 'gts';

export default [
  {
    ignores: ['dist/', 'gen/', 'node_modules/', 'proto/', 'coverage/', '.agora/', 'eslint.config.js'],
  },
  ...gts,
];
