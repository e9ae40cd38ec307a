import { RealtimeApiChart } from '../../constructs/realtime-api-chart';
import { READ_APIS_RULES } from '../../constructs/read-apis-rbac';
import { containerApi, merged, predictorApi, problemsOf, realtimeSpecOf } from '../lib/config/config-fixtures';
import { KubeObject, only, realtimeApi, synth } from './fixtures';

const render = (readApis: boolean | undefined, props: { serviceAccountName?: string } = {}) =>
  synth((app) => new RealtimeApiChart(app, 'iris', { api: { ...realtimeApi(), ...(readApis === undefined ? {} : { readApis }) }, namespace: 'apis', ...props }));
const rbac = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding');

describe('read_apis', () => {
  test('GIVEN nothing WHEN read and rendered THEN off: no Role, no token mounted', () => {
    expect(realtimeSpecOf(containerApi()).readApis).toBeUndefined();
    const objects = render(undefined);
    expect(rbac(objects)).toEqual([]);
    expect(only(objects, 'Deployment').spec.template.spec.automountServiceAccountToken).toBeUndefined();
    expect(only(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  test('GIVEN true on both forms WHEN read THEN the spec says so', () => {
    expect(realtimeSpecOf(merged(containerApi(), { read_apis: true })).readApis).toBe(true);
    expect(realtimeSpecOf(merged(predictorApi(), { read_apis: true })).readApis).toBe(true);
    expect(realtimeSpecOf(merged(containerApi(), { read_apis: false })).readApis).toBeUndefined();
  });

  test('GIVEN a value that is not a boolean WHEN read THEN FILE:LINE:COL names it', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  read_apis: "yes"
  pod:
    containers:
      - name: api
        image: nginx:1.27
`;
    expect(problemsOf(yaml)).toEqual(['cortex.yaml:3:14: iris.read_apis: must be true or false, got "yes"']);
  });

  test('GIVEN true WHEN rendered THEN read-only Roles bound to the pods\' ServiceAccount, and the token mounted', () => {
    const objects = render(true);
    const [role, binding, gatewayRole, gatewayBinding] = rbac(objects);
    expect(role).toMatchObject({ kind: 'Role', metadata: { name: 'iris-read-apis', namespace: 'apis' } });
    expect(role.rules).toEqual(READ_APIS_RULES);
    // read-only: nothing but get, list, watch anywhere
    for (const r of [...role.rules, ...gatewayRole.rules]) expect(r.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    expect(binding).toMatchObject({
      kind: 'RoleBinding',
      metadata: { name: 'iris-read-apis', namespace: 'apis' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'iris-read-apis' },
      subjects: [{ kind: 'ServiceAccount', name: 'iris-sa', namespace: 'apis' }],
    });
    // the gateway's namespace: only its two Services, by name, to make the endpoint URLs
    expect(gatewayRole).toMatchObject({
      metadata: { name: 'iris.apis-read-apis', namespace: 'istio-system', labels: { 'cortex.dev/api-namespace': 'apis' } },
      rules: [{ apiGroups: [''], resources: ['services'], resourceNames: ['apis-gateway-lb', 'apis-gateway'], verbs: ['get'] }],
    });
    expect(gatewayBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'iris-sa', namespace: 'apis' }]);
    expect(only(objects, 'Deployment').spec.template.spec.automountServiceAccountToken).toBe(true);
  });

  test('GIVEN a ServiceAccount of the user\'s WHEN rendered THEN the bindings name it', () => {
    const objects = render(true, { serviceAccountName: 'model-reader' });
    expect(rbac(objects).filter((o) => o.kind === 'RoleBinding').map((b) => b.subjects[0].name)).toEqual(['model-reader', 'model-reader']);
  });
});
