// The constructs' error class lives beside the config model so that constructs/ (cdk8s only)
// can throw it too without importing the CDK half of lib/.
export { CortexValidationError, ConfigError } from './config/errors';
