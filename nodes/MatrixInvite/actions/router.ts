import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { matrixClientFor } from './common';
import * as estimate from './estimate.operation';
import * as members from './members.operation';
import * as message from './message.operation';
import * as preflight from './preflight.operation';
import * as setUpSpace from './setUpSpace.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	// An estimate needs no homeserver.
	if (operation === 'estimate') return [await estimate.execute.call(this)];
	const client = await matrixClientFor(this);
	if (operation === 'message') return [await message.execute.call(this, client)];
	if (operation === 'preflight') return [await preflight.execute.call(this, client)];
	if (operation === 'setUpSpace') return [await setUpSpace.execute.call(this, client)];
	if (operation === 'invite' || operation === 'revoke' || operation === 'membership')
		return [await members.execute.call(this, client, operation)];
	throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`);
}
