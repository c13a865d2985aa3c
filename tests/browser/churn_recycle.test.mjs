/*
 * The churn of churn.test.mjs with m-line recycling from the 4th m-line on (its header says
 * what each stack must do): Chromium takes recycled m-lines, gst refuses them and the failure
 * path recovers, aiortc decodes or is told to rejoin (4007).
 *
 *   node churn_recycle.test.mjs
 */
import {churn} from './churn.test.mjs';
import {withEnv} from './harness.mjs';
import {runIfMain} from './runner.mjs';

export const tests = [
    {
        name: 'churn with m-line recycling from the 4th m-line on: Chromium takes it, gst ' +
            'refuses and recovers, aiortc decodes or is told to rejoin',
        timeoutMs: 150000,
        fn: () => withEnv(env => churn(env, 'recycle', 4, {recycling: true}),
                          {hearthdArgs: ['--set', 'media.mlines_before_recycle=4']}),
    },
];

await runIfMain(import.meta.url, tests);
