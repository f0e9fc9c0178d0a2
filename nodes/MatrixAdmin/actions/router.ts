import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { adminFor, errorKind, toNodeError, type Operation } from './common';
import * as registrationToken from './registrationToken';

const operations: Record<string, Record<string, Operation>> = {
	registrationToken: {
		create: registrationToken.create.execute,
		delete: registrationToken.deleteToken.execute,
		get: registrationToken.get.execute,
		getMany: registrationToken.getMany.execute,
		update: registrationToken.update.execute,
	},
};

/** Item by item; with "Continue On Fail" a failed item carries `error` and `errorKind` (notFound, exists, …). */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = operations[resource]?.[operation];
	if (!run) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported.`);
	const admin = await adminFor(this);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			out.push(...(await run.call(this, admin, i)));
		} catch (error) {
			const nodeError = toNodeError(this, error, i);
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { ...items[i].json, error: nodeError.message, errorKind: errorKind(error) }, pairedItem: { item: i } });
		}
	}
	return [out];
}
