/**
 * Scenario 1: 500 pretix webhooks — 30% duplicate deliveries of the same notification_id, all
 * shuffled (out of order) — arrive while `!batchinvite` runs over the same event. Every valid,
 * active attendee must be invited exactly once, nobody else, counted at the homeserver.
 */
import { exactlyOnce, Stage, webhooksDuringBatch, WEBHOOK_WORKFLOW } from './helpers';

describe('reliability: webhook storm during a batch', () => {
	let stage: Stage;

	beforeAll(async () => {
		stage = await Stage.start({ label: 'rel-storm' });
		await stage.mapAttendeesRoom();
	}, 600_000);

	afterAll(async () => {
		await Stage.stopAll();
	});

	test('500 webhooks (30% duplicates, out of order) + a batch → every attendee invited exactly once', async () => {
		const { plan, expected, summary, outcomes } = await webhooksDuringBatch(stage, {
			orders: {
				count: 280,
				seed: 71,
				positionsPerOrder: [1, 2],
				mix: { valid: 85, malformed: 10, missing: 5 },
				statuses: { p: 85, n: 10, c: 5 },
			},
			webhooks: { total: 500, duplicateShare: 0.3, firstId: 100_000 },
			batchAfterMs: 1000,
		});

		const tally = stage.tally('webhook storm during batch', expected);
		const runs = await stage.n8n.executions(WEBHOOK_WORKFLOW, false);
		process.stdout.write(
			`  ${plan.unique} notifications + ${plan.duplicates} duplicate deliveries, ${runs.length} webhook runs (${runs.filter((r) => r.status !== 'success').length} not successful); batch: ${summary.split('\n')[0]}\n`,
		);

		await stage.explainLosses(expected);
		expect(outcomes.filter((o) => o !== 'delivered')).toEqual([]);
		expect(tally).toEqual(exactlyOnce(expected));
		// Duplicates never start a run: one run per notification, none failed.
		expect(runs.length).toBe(plan.unique);
		expect(runs.filter((r) => r.status !== 'success')).toEqual([]);
		expect(summary).toMatch(/Batch invite finished for \d+ tickets/);
	});
});
