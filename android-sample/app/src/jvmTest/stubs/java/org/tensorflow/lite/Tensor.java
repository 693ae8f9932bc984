package org.tensorflow.lite;

/** JVM stand-in. */
public interface Tensor {
    final class QuantizationParams {
        private final float scale;
        private final int zeroPoint;

        public QuantizationParams(float scale, int zeroPoint) {
            this.scale = scale;
            this.zeroPoint = zeroPoint;
        }

        public float getScale() { return scale; }
        public int getZeroPoint() { return zeroPoint; }
    }

    DataType dataType();
    int[] shape();
    QuantizationParams quantizationParams();
}
