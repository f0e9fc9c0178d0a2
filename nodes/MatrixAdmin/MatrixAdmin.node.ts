import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as registrationToken from './actions/registrationToken';
import { router } from './actions/router';

/**
 * The homeserver's admin API (Synapse): registration tokens, so people without a Matrix account can
 * register one on a homeserver that requires a token. Uses its own credential (a server admin's
 * token), never the bot's.
 */
export class MatrixAdmin implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Matrix Admin',
		name: 'matrixAdmin',
		icon: { light: 'file:matrixAdmin.svg', dark: 'file:matrixAdmin.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Manage registration tokens of a Synapse homeserver (admin API)',
		defaults: {
			name: 'Matrix Admin',
		},
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'matrixAdminApi',
				required: true,
			},
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Registration Token',
						value: 'registrationToken',
						description: 'Tokens that let people register an account (Synapse `registration_requires_token`)',
					},
				],
				default: 'registrationToken',
			},
			...registrationToken.description,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
