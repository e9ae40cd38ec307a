/** A `kind: RealtimeAPI` entry: picks its form (container or predictor) and reads it. */
import { ApiIdentity, readContainerApi } from './container-api';
import { Field } from './field';
import { readPredictorApi } from './predictor-api';
import { RealtimeApiSpec } from './types';

/** Top-level keys of the predictor form that the container form does not have. */
const PREDICTOR_FORM_ONLY_KEYS = ['compute', 'tracker'];

export function readRealtimeApi(entry: Field, identity: ApiIdentity): RealtimeApiSpec | undefined {
  // A key written with no value (`pod:`, `pod: null`, or undefined in code) does not pick a form.
  const hasPod = entry.child('pod').isSet;
  const predictorKey = entry.child('predictor').isSet ? 'predictor' : entry.child('handler').isSet ? 'handler' : undefined;

  if (hasPod && predictorKey) {
    // Read as the container form, which pod says it is, without calling the predictor form's
    // own fields unknown: the conflict is the one thing to fix first.
    const predictorKeys = ['predictor', 'handler'].filter((key) => entry.child(key).isSet);
    for (const key of predictorKeys) {
      entry
        .child(key)
        .keyProblem(
          `cannot be used together with pod: pod is the container form (Cortex v0.42), ${key} the predictor form (Cortex v0.30); use one`,
        );
    }
    return readContainerApi(entry, identity, [...predictorKeys, ...PREDICTOR_FORM_ONLY_KEYS]);
  }
  if (predictorKey) return readPredictorApi(entry, identity, predictorKey);
  if (hasPod) return readContainerApi(entry, identity);

  entry.problem('needs pod (the container form: pod.containers) or predictor (the predictor form: predictor.type and predictor.path)');
  return undefined;
}
