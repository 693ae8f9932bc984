package dev.edgekit.sample

import dev.edgekit.core.ModelException
import dev.edgekit.core.TensorType
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.nio.ByteBuffer

/** GPU delegate fallback and tensor mapping, against the LiteRT stand-ins (no native runtime on the JVM). */
class LiteRtRunnerTest {
    private fun tensor(type: DataType, vararg shape: Int, scale: Float = 0f, zero: Int = 0) = object : Tensor {
        override fun dataType() = type
        override fun shape() = shape
        override fun quantizationParams() = Tensor.QuantizationParams(scale, zero)
    }

    @Before
    fun setUp() {
        Interpreter.stubInput = tensor(DataType.INT8, 1, 64, 64, 3, scale = 1f, zero = -128)
        Interpreter.stubOutput = tensor(DataType.INT8, 1, 3, scale = 1 / 256f, zero = -128)
        Interpreter.created.clear()
        Interpreter.stubRun = null
        CompatibilityList.supported = true
        GpuDelegate.failure = null
        GpuDelegate.closed = 0
    }

    @After
    fun tearDown() {
        CompatibilityList.supported = false
        GpuDelegate.failure = null
    }

    private val model: ByteBuffer get() = ByteBuffer.allocateDirect(16)

    @Test
    fun missingOpenClFallsBackToTheCpuInsteadOfCrashing() {
        GpuDelegate.failure = UnsatisfiedLinkError("dlopen failed: library \"libOpenCL.so\" not found")
        val runner = LiteRtRunner(model, useGpu = true, threads = 4, source = "m.tflite")
        assertTrue(runner.accelerator, runner.accelerator.startsWith("CPU"))
        assertTrue(runner.fallbackMessage!!, runner.fallbackMessage!!.contains("libOpenCL.so"))
        val options = Interpreter.created.single()
        assertTrue("CPU interpreter must not carry the GPU delegate", options.delegates.isEmpty())
        assertEquals(4, options.numThreads)
        assertTrue(options.useXnnpack)
        assertEquals(TensorType.INT8, runner.input.type)
        assertEquals(-128, runner.input.zeroPoint)
    }

    @Test
    fun gpuWhenSupportedElseCpuWithAReason() {
        val gpu = LiteRtRunner(model, useGpu = true, threads = 2, source = "m.tflite")
        assertEquals("GPU", gpu.accelerator)
        assertEquals(1, Interpreter.created.single().delegates.size)
        gpu.close()
        assertEquals("closing releases the delegate", 1, GpuDelegate.closed)
        CompatibilityList.supported = false
        val cpu = LiteRtRunner(model, useGpu = true, threads = 2, source = "m.tflite")
        assertTrue(cpu.fallbackMessage!!, cpu.fallbackMessage!!.contains("not supported"))
    }

    @Test
    fun unsupportedTensorTypesAreRefusedNamingTheModel() {
        Interpreter.stubOutput = tensor(DataType.INT64, 1, 3)
        try {
            LiteRtRunner(model, useGpu = false, threads = 1, source = "odd.tflite")
            fail("expected ModelException")
        } catch (e: ModelException) {
            assertTrue(e.message!!, e.message!!.contains("odd.tflite"))
        }
    }
}
