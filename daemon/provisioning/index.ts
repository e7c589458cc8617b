/** What other parts of the daemon use from provisioning. */
export { activationIdentities } from './activation';
export { recordDeviceEvent, type DeviceEvent } from './events';
export { deviceForExtension, deviceByMac, type Device } from './store/devices';
export { activateDevice } from './service/devices';
export { resyncEvent } from './vendors/resync';
export { provisioningComponent } from './component';
