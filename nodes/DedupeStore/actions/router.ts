import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { withLedger } from '../../../lib/store';
import { storeCredential, toNodeError, type Operation } from './common';
import * as entry from './entry';
import * as event from './event';
import * as inviteCode from './inviteCode';
import * as roomMapping from './roomMapping';
import * as seatClaim from './seatClaim';
import * as throttle from './throttle';
import * as ticket from './ticket';
import * as ticketToken from './ticketToken';

const operations: Record<string, Record<string, Operation>> = {
	entry: {
		claim: entry.claim.execute,
		complete: entry.complete.execute,
		fail: entry.fail.execute,
		release: entry.release.execute,
		lookup: entry.lookup.execute,
		forget: entry.forget.execute,
	},
	ticket: {
		plan: ticket.plan.execute,
		record: ticket.record.execute,
		summarize: ticket.summarize.execute,
	},
	roomMapping: {
		set: roomMapping.set.execute,
		unset: roomMapping.unset.execute,
		list: roomMapping.list.execute,
		resolve: roomMapping.resolve.execute,
		followUpgrade: roomMapping.followUpgrade.execute,
		planUpgradeInvites: roomMapping.planUpgradeInvites.execute,
	},
	inviteCode: {
		create: inviteCode.create.execute,
		get: inviteCode.get.execute,
		list: inviteCode.list.execute,
		redeem: inviteCode.redeem.execute,
		revoke: inviteCode.revoke.execute,
	},
	seatClaim: { claim: seatClaim.claim.execute },
	throttle: { count: throttle.count.execute },
	ticketToken: {
		list: ticketToken.list.execute,
		plan: ticketToken.plan.execute,
		record: ticketToken.record.execute,
	},
	event: {
		stats: event.stats.execute,
		purge: event.purge.execute,
		getCursor: event.getCursor.execute,
		setCursor: event.setCursor.execute,
	},
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = operations[resource]?.[operation];
	if (!run)
		throw new NodeOperationError(
			this.getNode(),
			`The operation "${operation}" of "${resource}" is not supported.`,
		);
	const credential = storeCredential(await this.getCredentials('dedupeStoreApi'));
	try {
		return await withLedger(credential, (ledger) => run.call(this, ledger, items));
	} catch (error) {
		const nodeError = toNodeError(this, error);
		// The store could not be opened: with "Continue On Fail" every item reports it.
		if (this.continueOnFail() && !(error instanceof NodeOperationError)) {
			const failed = items.map((_, i) => ({
				json: { error: nodeError.message },
				pairedItem: { item: i },
			}));
			if (resource === 'entry' && operation === 'claim') return [[], failed];
			if (resource === 'ticket' && operation === 'plan') return [[], [], [], failed];
			if (resource === 'inviteCode' && operation === 'redeem') return [[], [], failed];
			if (resource === 'ticketToken' && operation === 'plan') return [[], [], failed];
			if ((resource === 'throttle' && operation === 'count') || (resource === 'seatClaim' && operation === 'claim')) return [[], failed];
			return [failed];
		}
		throw nodeError;
	}
}
