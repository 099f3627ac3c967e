import { builder } from '../builder.js';

interface Viewer {
  actor: string;
  readOnly: boolean;
}

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The management key making this request, by its non-secret name.',
  fields: (t) => ({
    actor: t.exposeString('actor', { description: 'As audit entries name it: `key:<hash prefix>` or `read-key:<hash prefix>`' }),
    readOnly: t.exposeBoolean('readOnly', { description: 'A read-only key (MANAGEMENT_READ_KEYS): every mutation answers ForbiddenError' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who is asking: lets a client such as the console hide what the key may not do.',
    resolve: (_root, _args, ctx) => ({ actor: ctx.actor, readOnly: ctx.readOnly }),
  }),
);
