import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { pretixClientFor, type PretixClient } from '../../../lib/pretix';
import * as attendee from './attendee';
import { toNodeError } from './common';
import * as event from './event';
import * as oauthToken from './oauthToken';
import * as order from './order';
import * as organizer from './organizer';

type Operation = (this: IExecuteFunctions, client: PretixClient, itemIndex: number) => Promise<INodeExecutionData[]>;

const operations: Record<string, Record<string, Operation>> = {
	attendee: { getMany: attendee.getMany.execute },
	event: { get: event.get.execute, getMany: event.getMany.execute },
	oauthToken: { revoke: oauthToken.revoke.execute },
	order: { get: order.get.execute },
	organizer: { getMany: organizer.getMany.execute },
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = operations[resource]?.[operation];
	if (!run) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported.`);
	let client: PretixClient;
	try {
		client = await pretixClientFor(this, this.getNodeParameter('authentication', 0));
	} catch (error) {
		throw toNodeError(this, error, 0);
	}
	const out: INodeExecutionData[] = [];
	// Organizer listing and token revocation do not depend on the input: run them once.
	const perItem = !(resource === 'organizer' || resource === 'oauthToken');
	const count = perItem ? items.length : Math.min(1, items.length);
	for (let i = 0; i < count; i++) {
		try {
			out.push(...(await run.call(this, client, i)));
		} catch (error) {
			const nodeError = toNodeError(this, error, i);
			if (this.continueOnFail()) {
				out.push({ json: { error: nodeError.message }, pairedItem: { item: i } });
				continue;
			}
			throw nodeError;
		}
	}
	return [out];
}
