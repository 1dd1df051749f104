// The addon's SwitchML packet loops (native/src/switchml-codec.cc) as a SwitchmlPacketCodec:
// bit-identical to lib/cpu/switchml-packets.ts's TypeScript one (test/native-switchml-codec.test.ts).
// The methods call the addon directly (no closure per call: a 64-value packet is a few hundred
// nanoseconds of work) and turn its argument errors into InvalidArgument.
import type { SwitchmlPacketCodec } from '../cpu/switchml-packets.js';
import type { NativeAddon } from './addon.js';
import { asNativeError } from './call.js';

/** The codec, or undefined when this build of the addon predates it. */
export function nativeSwitchmlPackets(addon: NativeAddon): SwitchmlPacketCodec | undefined {
  const { switchmlBlockExponents, switchmlQuantize, int32ToBigEndian, switchmlDequantize, int32FromBigEndian } = addon;
  if (!switchmlBlockExponents || !switchmlQuantize || !int32ToBigEndian || !switchmlDequantize || !int32FromBigEndian) return undefined;
  return {
    name: `native(${addon.switchmlVariant ?? 'unknown'})`,
    blockExponents(x, start, count, blockSize, out, outStart) {
      try {
        switchmlBlockExponents(x, start, count, blockSize, out, outStart);
      } catch (error) {
        throw asNativeError('native switchml blockExponents', error);
      }
    },
    quantize(x, start, count, blockSize, exponents, exponentStart, workers, packet, byteOffset, littleEndian) {
      try {
        switchmlQuantize(x, start, count, blockSize, exponents, exponentStart, workers, packet, byteOffset, littleEndian);
      } catch (error) {
        throw asNativeError('native switchml quantize', error);
      }
    },
    int32ToBigEndian(x, start, count, packet, byteOffset) {
      try {
        int32ToBigEndian(x, start, count, packet, byteOffset);
      } catch (error) {
        throw asNativeError('native switchml int32ToBigEndian', error);
      }
    },
    dequantize(packet, byteOffset, count, blockSize, exponents, exponentStart, workers, divisor, out, outStart, littleEndian) {
      try {
        switchmlDequantize(packet, byteOffset, count, blockSize, exponents, exponentStart, workers, divisor, out, outStart, littleEndian);
      } catch (error) {
        throw asNativeError('native switchml dequantize', error);
      }
    },
    int32FromBigEndian(packet, byteOffset, count, divisor, out, outStart) {
      try {
        int32FromBigEndian(packet, byteOffset, count, divisor, out, outStart);
      } catch (error) {
        throw asNativeError('native switchml int32FromBigEndian', error);
      }
    },
  };
}
