/**
 * The {@code vhdx} format driver: Hyper-V virtual hard disks v2 ([MS-VHDX]).
 */
package io.blockkit.vhdx;
