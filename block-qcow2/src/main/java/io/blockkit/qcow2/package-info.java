/**
 * The {@code qcow2} format driver: QEMU copy-on-write images, versions 2 and 3.
 * (Contract, crash model and locking: to be completed.)
 */
package io.blockkit.qcow2;
