import { apiWithContainer, containerApi, containerApiProblems, merged, objectProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

const POD = '<props>: iris.pod';

describe('pod', () => {
  test('GIVEN only containers WHEN read THEN port is 8080, max_concurrency 1 and max_queue_length 100', () => {
    expect(realtimeSpecOf(containerApi()).pod).toEqual({
      port: 8080,
      maxConcurrency: 1,
      maxQueueLength: 100,
      containers: [{ name: 'api', image: 'iris:1', env: {}, compute: { cpu: '200m', gpu: 0, inf: 0 } }],
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['port 1', { port: 1 }, []],
    ['port 0', { port: 0 }, [`${POD}.port: must be an integer from 1 to 65535, got 0`]],
    ['port 65535', { port: 65535 }, []],
    ['port 65536', { port: 65536 }, [`${POD}.port: must be an integer from 1 to 65535, got 65536`]],
    ['port 8888', { port: 8888 }, [`${POD}.port: port 8888 is reserved for the proxy sidecar; use another port`]],
    ['port 15000', { port: 15000 }, [`${POD}.port: port 15000 is reserved for the proxy sidecar's metrics; use another port`]],
    ['port 8887', { port: 8887 }, []],
    ['port "8080"', { port: '8080' }, [`${POD}.port: must be an integer from 1 to 65535, got "8080"`]],
    ['max_concurrency 1', { max_concurrency: 1 }, []],
    ['max_concurrency 0', { max_concurrency: 0 }, [`${POD}.max_concurrency: must be an integer from 1 to 30000, got 0`]],
    ['max_concurrency 30000', { max_concurrency: 30000 }, []],
    ['max_concurrency 30001', { max_concurrency: 30001 }, [`${POD}.max_concurrency: must be an integer from 1 to 30000, got 30001`]],
    ['max_queue_length 0 (no queue)', { max_queue_length: 0 }, []],
    ['max_queue_length -1', { max_queue_length: -1 }, [`${POD}.max_queue_length: must be an integer from 0 to 30000, got -1`]],
    ['max_queue_length 30000', { max_queue_length: 30000 }, []],
    ['max_queue_length 30001', { max_queue_length: 30001 }, [`${POD}.max_queue_length: must be an integer from 0 to 30000, got 30001`]],
    ['no containers', { containers: undefined }, [`${POD}.containers: required`]],
    ['an empty container list', { containers: [] }, [`${POD}.containers: must list at least one container`]],
    ['a container that is not a mapping', { containers: ['nginx'] }, [`${POD}.containers[0]: must be a mapping, got "nginx"`]],
    [
      'a misspelt key',
      { max_concurency: 2 },
      [`${POD}.max_concurency: unknown field "max_concurency"; did you mean "max_concurrency"?`],
    ],
    [
      'node_groups under pod',
      { node_groups: ['gpu'] },
      [`${POD}.node_groups: unknown field "node_groups"; node_groups belongs at the top level of the API, beside pod`],
    ],
    [
      'shm_size under pod',
      { shm_size: '1Gi' },
      [`${POD}.shm_size: unknown field "shm_size"; set shm in the compute of the container that needs it (containers[i].compute.shm)`],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, pod, expected) => {
    expect(containerApiProblems({ pod })).toEqual(expected);
  });

  test('GIVEN a pod that is not a mapping WHEN validated THEN it must be one', () => {
    expect(containerApiProblems({ pod: [] })).toEqual([`${POD}: must be a mapping, got an empty list`]);
  });
});

describe('containers', () => {
  const C = `${POD}.containers[0]`;

  test('GIVEN every container field WHEN read THEN each is kept', () => {
    const container = realtimeSpecOf(
      apiWithContainer({
        name: 'tfs-server',
        image: 'quay.io/cortexlabs-test/neuron-tf-serving:latest',
        command: ['/usr/local/bin/entrypoint.sh'],
        args: ['--port=8500', '--model_base_path=s3://bucket/model/'],
        env: { AWS_REGION: 'us-west-2' },
      }),
    ).pod.containers[0];
    expect(container).toEqual({
      name: 'tfs-server',
      image: 'quay.io/cortexlabs-test/neuron-tf-serving:latest',
      command: ['/usr/local/bin/entrypoint.sh'],
      args: ['--port=8500', '--model_base_path=s3://bucket/model/'],
      env: { AWS_REGION: 'us-west-2' },
      compute: { cpu: '200m', gpu: 0, inf: 0 },
    });
  });

  test('GIVEN empty command and args lists WHEN read THEN they are kept empty (Kubernetes treats them as unset)', () => {
    expect(realtimeSpecOf(apiWithContainer({ command: [], args: [] })).pod.containers[0]).toMatchObject({ command: [], args: [] });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['a 63-character name', { name: 'a'.repeat(63) }, []],
    ['a 64-character name', { name: 'a'.repeat(64) }, [`${C}.name: must be at most 63 characters, got 64`]],
    ['a name starting with a digit', { name: '1api' }, []],
    [
      'an upper-case name',
      { name: 'Web_Server' },
      [`${C}.name: must be a DNS-1123 label (lower-case letters, digits and "-", starting and ending with a letter or digit), got "Web_Server"`],
    ],
    ['the name proxy', { name: 'proxy' }, [`${C}.name: "proxy" is reserved for the proxy sidecar; use another name`]],
    ['no name', { name: undefined }, [`${C}.name: required`]],
    ['no image', { image: undefined }, [`${C}.image: required`]],
    ['an empty image', { image: '' }, [`${C}.image: must not be empty`]],
    [
      'an image with a space',
      { image: 'my image' },
      [`${C}.image: must be an image reference such as "nginx:1.27" or "<account>.dkr.ecr.<region>.amazonaws.com/api:v1", got "my image"`],
    ],
    [
      'an image with capitals in its repository',
      { image: 'ghcr.io/Team/iris:1' },
      [
        `${C}.image: "ghcr.io/Team/iris:1" is not an image reference: the repository part "Team" must be lowercase letters and digits, separated by ".", "_", "__" or "-" (e.g. "nginx:1.27" or "<account>.dkr.ecr.<region>.amazonaws.com/api:v1")`,
      ],
    ],
    [
      'an image with a bad tag',
      { image: 'iris:-1' },
      [
        `${C}.image: "iris:-1" is not an image reference: the tag "-1" must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-" (e.g. "nginx:1.27" or "<account>.dkr.ecr.<region>.amazonaws.com/api:v1")`,
      ],
    ],
    ['an image pinned by digest', { image: `iris@sha256:${'a'.repeat(64)}` }, []],
    ['a command string', { command: 'python app.py' }, [`${C}.command: must be a list, got "python app.py"`]],
    ['a number in args', { args: ['--port', 8080] }, [`${C}.args[1]: must be a string, got 8080 (quote it: "8080")`]],
    ['resources instead of compute', { resources: {} }, [`${C}.resources: unknown field "resources"; use compute (cpu, mem, gpu, inf, shm)`]],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    expect(objectProblems([apiWithContainer(overrides)])).toEqual(expected);
  });

  test('GIVEN two containers with one name WHEN validated THEN the second is reported', () => {
    const api = merged(containerApi(), {
      pod: { containers: [{ name: 'api', image: 'a' }, { name: 'api', image: 'b' }] },
    });
    expect(objectProblems([api])).toEqual([
      `${POD}.containers[1].name: duplicate container name "api" (also containers[0]); container names must be unique in the pod`,
    ]);
  });

  test('GIVEN a multi-container pod WHEN read THEN containers keep their order and own settings', () => {
    const yaml = `- name: multi-container
  kind: RealtimeAPI
  pod:
    port: 8080
    containers:
    - name: web-server
      image: example/web:1
      readiness_probe:
        http_get:
          path: "/healthz"
          port: 8080
    - name: tfs-server
      image: example/tfs:1
      readiness_probe:
        exec:
          command: ["tfs_model_status_probe", "-addr", "localhost:8500"]
      compute:
        cpu: 1
        mem: 2G
`;
    expect(problemsOf(yaml)).toEqual([]);
  });
});
