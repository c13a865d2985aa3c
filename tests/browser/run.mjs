/*
 * node run.mjs [file.test.mjs ...]: runs the given browser test files, or all of them
 * (runner.mjs has the details). Ends with `N passed, N failed`; exit 0 only when all passed.
 */
import {main} from './runner.mjs';

await main(process.argv.slice(2));
