/**
 * Scenario 2: the homeserver answers 429 in storms (on top of its own rate limits) and 500 on 10% of
 * all calls; pretix answers 429 storms and random 429/5xx. Webhooks and a batch run through it; a
 * second `!batchinvite` picks up whatever the first could not finish (Record failure marks
 * serverUnreachable/gaveUp as retryable). In the end everyone is invited exactly once.
 */
import { exactlyOnce, BATCH_WORKFLOW, Stage, webhooksDuringBatch, WEBHOOK_WORKFLOW } from './helpers';

/** The run's normal homeserver limits: webhooks and the batch compete for them, so 429s happen anyway. */
const LIMITS = {
	invitesPerIssuer: { perSecond: 8, burst: 8 },
	invitesPerRoom: { perSecond: 8, burst: 8 },
	message: { perSecond: 5, burst: 20 },
};
/** A storm: for a few seconds the homeserver lets almost nothing through (Synapse-style 429s with retry_after_ms). */
const STORM = {
	...LIMITS,
	invitesPerIssuer: { perSecond: 2, burst: 1 },
	invitesPerRoom: { perSecond: 2, burst: 1 },
};

describe('reliability: homeserver and pretix faults', () => {
	let stage: Stage;

	beforeAll(async () => {
		stage = await Stage.start({
			label: 'rel-faults',
			rateLimits: LIMITS,
		});
		await stage.mapAttendeesRoom();
	}, 600_000);

	afterAll(async () => {
		await Stage.stopAll();
	});

	test('429 storms, 10% 5xx at the homeserver, 429/5xx at pretix → converges to exactly once', async () => {
		const { homeserver, pretix } = stage.services;
		homeserver.setFaults({ errorRate: 0.1, errorStatus: 500 });
		pretix.randomFaults = { rate5xx: 0.1, rate429: 0.05, retryAfterS: 1, seed: 72 };
		pretix.storm429(10, 2);
		// Three 429 storms at the homeserver (4 s each) while webhooks and the batch run.
		const storm = (atMs: number) => [
			setTimeout(() => homeserver.setRateLimits(STORM), atMs),
			setTimeout(() => homeserver.setRateLimits(LIMITS), atMs + 4000),
		];
		const storms = [...storm(0), ...storm(10_000), ...storm(22_000)];

		const {
			expected,
			summary: first,
			outcomes,
		} = await webhooksDuringBatch(stage, {
			orders: {
				count: 120,
				seed: 72,
				positionsPerOrder: [1, 2],
				mix: { valid: 90, malformed: 10 },
				statuses: { p: 90, n: 10 },
			},
			webhooks: { total: 150, duplicateShare: 0.2, firstId: 200_000 },
			tickMs: 200,
		});
		storms.forEach(clearTimeout);
		homeserver.setRateLimits(LIMITS);
		const afterFirst = stage.invitesMade();

		// Still 10% 5xx everywhere: the second batch must converge through them.
		const second = await stage.batchInvite(300_000);
		await stage.quiesce([WEBHOOK_WORKFLOW, BATCH_WORKFLOW], { timeoutMs: 120_000 });
		homeserver.setFaults({});
		pretix.clearFaults();

		const tally = stage.tally('homeserver 429 storms + 10% 5xx, pretix 429/5xx', expected);
		await stage.explainLosses(expected);
		const hsFaults = homeserver
			.requests()
			.filter((r) => r.status === 429 || r.status >= 500).length;
		const pretixFaults = pretix.requests.filter((r) => r.fault).length;
		process.stdout.write(
			`  homeserver answered ${hsFaults} times 429/5xx, pretix ${pretixFaults} faults; ${afterFirst} invites after the first batch; first: ${first.split('\n')[0]}; second: ${second.split('\n')[0]}\n`,
		);

		expect(outcomes.filter((o) => o !== 'delivered')).toEqual([]);
		// The faults really happened (how many depends on how many requests the run needed).
		const hsRequests = homeserver.requests();
		expect(hsRequests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
		expect(hsRequests.filter((r) => r.status >= 500).length).toBeGreaterThan(0);
		expect(hsFaults).toBeGreaterThanOrEqual(20);
		expect(pretixFaults).toBeGreaterThanOrEqual(10);
		expect(tally).toEqual(exactlyOnce(expected));
		expect(second).toMatch(/\b0 failed/);
	});
});
