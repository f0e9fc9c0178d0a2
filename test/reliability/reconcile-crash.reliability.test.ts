/**
 * Scenario 6: n8n is killed (SIGKILL) while the webhook template's scheduled re-read ("Every
 * 30 minutes", set to every minute here) invites the orders that changed, then started again on
 * the same user folder. The dead run's claims expire (every Plan's lease patched from 900 s to a few
 * seconds) and a later `!batchinvite` invites the rest: nothing lost, nothing doubled. CI once
 * killed n8n during this re-read in the crash-restart scenario, which had patched only the batch's
 * lease: every ticket the re-read held stayed "in progress" for 15 minutes. Since the re-read
 * goes through the template's loop, a dead run holds one chunk (≤ 25 tickets) instead.
 */
import {
	exactlyOnce,
	delay,
	expectedInvitees,
	Stage,
	shortenPlanLeases,
	TEN_INVITES_PER_SECOND,
	templateNode,
	BATCH_WORKFLOW,
	WEBHOOK_WORKFLOW,
} from './helpers';

const LEASE_SECONDS = 10;

describe('reliability: n8n killed during the scheduled re-read', () => {
	let stage: Stage;

	beforeAll(async () => {
		stage = await Stage.start({
			label: 'rel-reread',
			rateLimits: TEN_INVITES_PER_SECOND,
			patch: (workflow) => {
				if (workflow.id === WEBHOOK_WORKFLOW)
					templateNode(workflow, 'Every 30 minutes').parameters.rule = {
						interval: [{ field: 'minutes', minutesInterval: 1 }],
					};
				shortenPlanLeases(workflow, LEASE_SECONDS);
			},
		});
		await stage.mapAttendeesRoom();
	}, 600_000);

	afterAll(async () => {
		await Stage.stopAll();
	});

	test('SIGKILL while the re-read invites, restart, !batchinvite → nothing lost, nothing doubled', async () => {
		const generated = stage.services.pretix.generateOrders({
			count: 200,
			seed: 73,
			mix: { valid: 95, missing: 5 },
		});
		const expected = expectedInvitees(generated);
		// No command and no webhook: only the scheduled re-read invites these orders.
		const deadline = Date.now() + 200_000;
		while (stage.invitesMade() < expected.length / 3 && Date.now() < deadline) await delay(100);
		await stage.n8n.stop('SIGKILL');
		const atKill = stage.invitesMade();
		// The re-read goes through "25 tickets at a time": the dead run held one chunk, not everyone
		// it had read (before the loop, one Plan claimed all ~190 tickets and held them for the lease).
		const heldAtKill = stage.unfinishedClaims();
		expect(atKill).toBeGreaterThan(0);
		expect(atKill).toBeLessThan(expected.length);
		expect(heldAtKill).toBeLessThanOrEqual(25);

		await stage.n8n.restart();
		await delay((LEASE_SECONDS + 5) * 1000);
		const beforeSecond = await stage.explainClaims([BATCH_WORKFLOW, WEBHOOK_WORKFLOW]);
		const summary = await stage.batchInvite(300_000);
		await stage.quiesce([BATCH_WORKFLOW, WEBHOOK_WORKFLOW], { timeoutMs: 120_000 });

		const tally = stage.tally('n8n SIGKILL during the scheduled re-read + restart', expected);
		process.stdout.write(
			`  ${atKill} invites before the kill, ${heldAtKill} tickets held by the dead run; after restart: ${summary.split('\n')[0]}\n`,
		);
		if (tally.lost || tally.duplicated)
			process.stdout.write(
				`before the !batchinvite:\n${beforeSecond}after it:\n${await stage.explainClaims([BATCH_WORKFLOW, WEBHOOK_WORKFLOW])}`,
			);
		expect(tally).toEqual(exactlyOnce(expected));
		expect(summary).toMatch(/\b0 failed/);
	});
});
