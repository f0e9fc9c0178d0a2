/**
 * Runs a suite once on n8n's legacy expression engine and once on its isolated-vm engine (n8n 2.x's
 * default), for tests that check something against n8n's own evaluation of an expression.
 */
import { Expression, type Workflow } from 'n8n-workflow';

export type ExpressionEngine = 'legacy' | 'vm';

export function describeOnEachExpressionEngine(
	name: string,
	suite: (engine: ExpressionEngine) => void,
): void {
	for (const engine of ['legacy', 'vm'] as const) {
		describe(`${name}, ${engine} engine`, () => {
			beforeAll(async () => {
				if (engine === 'vm')
					await Expression.initExpressionEngine({
						engine: 'vm',
						bridgeTimeout: 5000,
						bridgeMemoryLimit: 128,
						poolSize: 1,
						maxCodeCacheSize: 1024,
					});
				expect(Expression.getActiveImplementation()).toBe(engine);
			});
			afterAll(async () => {
				if (engine === 'vm') await Expression.disposeExpressionEngine();
			});
			suite(engine);
		});
	}
}

/** `fn` with the workflow's expression isolate held, as n8n holds it around a run (a no-op on legacy). */
export async function withIsolate<T>(workflow: Workflow, fn: () => T): Promise<T> {
	await workflow.expression.acquireIsolate();
	try {
		return fn();
	} finally {
		await workflow.expression.releaseIsolate();
	}
}
