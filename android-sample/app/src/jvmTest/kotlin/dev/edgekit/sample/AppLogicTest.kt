package dev.edgekit.sample

import android.content.res.AssetManager
import android.view.OrientationEventListener
import android.view.Surface
import dev.edgekit.core.TestFiles
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files

/** The app's plain-Kotlin decisions: settings, bundled models, target rotation, when the camera runs. */
class AppLogicTest {
    @Test
    fun settingsCycleLikeTheOfficialSample() {
        var s = AppSettings()
        val seen = ArrayList<Int>()
        repeat(AppSettings.MAX_RESULTS.size) { s = s.nextMaxResults(); seen.add(s.maxResults) }
        assertEquals(AppSettings.MAX_RESULTS.toSet(), seen.toSet()) // every value, then back to the first
        assertEquals(AppSettings().maxResults, s.maxResults)
        assertEquals(0.3f, AppSettings(threshold = 0.1f).nextThreshold().threshold)
        assertEquals(0f, AppSettings(threshold = 0.7f).nextThreshold().threshold)
        assertEquals(4, AppSettings(threads = 2).nextThreads().threads)
        val models = listOf("model.tflite", "model_float32.tflite", "model_int8.tflite")
        assertEquals("model_float32.tflite", AppSettings().nextModel(models).model)
        assertEquals("model.tflite", AppSettings(model = "model_int8.tflite").nextModel(models).model)
        assertEquals("model.tflite", AppSettings(model = "gone.tflite").nextModel(models).model)
    }

    @Test
    fun onlyModelAcceleratorOrThreadsReloadTheInterpreter() {
        val s = AppSettings()
        assertFalse(s.nextMaxResults().needsReload(s))
        assertFalse(s.nextThreshold().needsReload(s))
        assertTrue(s.nextThreads().needsReload(s))
        assertTrue(s.copy(useGpu = true).needsReload(s))
        assertTrue(s.copy(model = "other.tflite").needsReload(s))
    }

    @Test
    fun bundledModelsAreListedAndMemoryMapped() {
        val dir = Files.createTempDirectory("assets").toFile()
        try {
            val model = File(TestFiles.parity, "tiny_int8_int8io.tflite").readBytes()
            for (name in listOf("b_float32.tflite", "model.tflite", "a_int8.tflite")) File(dir, name).writeBytes(model)
            File(dir, "labels.txt").writeText("x\n")
            val assets = AssetManager(dir)
            assertEquals(listOf("model.tflite", "a_int8.tflite", "b_float32.tflite"), ModelFiles.list(assets))
            val mapped = ModelFiles.map(assets, "model.tflite")
            assertEquals(model.size, mapped.remaining())
            val bytes = ByteArray(mapped.remaining())
            mapped.duplicate().get(bytes)
            assertArrayEquals(model, bytes)
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun targetRotationFollowsTheDeviceIncludingA180Turn() {
        assertEquals(Surface.ROTATION_0, TargetRotation.forOrientation(0))
        assertEquals(Surface.ROTATION_0, TargetRotation.forOrientation(350))
        assertEquals(Surface.ROTATION_270, TargetRotation.forOrientation(90))
        assertEquals(Surface.ROTATION_180, TargetRotation.forOrientation(180)) // upside down: no activity restart
        assertEquals(Surface.ROTATION_90, TargetRotation.forOrientation(270))
        assertNull(TargetRotation.forOrientation(OrientationEventListener.ORIENTATION_UNKNOWN))
    }

    @Test
    fun cameraStopsForPhotosAndRestartsAfterAFailure() {
        val gate = CameraGate()
        assertEquals(CameraGate.Action.ASK_PERMISSION, gate.action(UiState.Mode.CAMERA, false, mayAsk = true))
        assertEquals(CameraGate.Action.NONE, gate.action(UiState.Mode.CAMERA, false, mayAsk = false))
        assertEquals(CameraGate.Action.BIND, gate.action(UiState.Mode.CAMERA, true, mayAsk = false))
        gate.binding()
        assertEquals(CameraGate.Action.NONE, gate.action(UiState.Mode.CAMERA, true, mayAsk = false))
        assertEquals(CameraGate.Action.UNBIND, gate.action(UiState.Mode.PHOTO, true, mayAsk = false))
        gate.unbound()
        assertEquals(CameraGate.Action.NONE, gate.action(UiState.Mode.PHOTO, true, mayAsk = false))
        assertEquals(CameraGate.Action.BIND, gate.action(UiState.Mode.CAMERA, true, mayAsk = false)) // "Live camera"
        gate.binding()
        gate.failed() // e.g. the camera was in use by another app
        assertEquals("no retry loop on every state update", CameraGate.Action.NONE,
            gate.action(UiState.Mode.CAMERA, true, mayAsk = false))
        gate.retry() // "Live camera" pressed
        assertEquals(CameraGate.Action.BIND, gate.action(UiState.Mode.CAMERA, true, mayAsk = false))
    }

    @Test
    fun manifestDeclaresOpenClForTheGpuDelegate() {
        val manifest = File(TestFiles.repo, "android-sample/app/src/main/AndroidManifest.xml").readText()
        val tag = Regex("<uses-native-library[^>]*>").find(manifest)?.value ?: ""
        assertTrue("uses-native-library libOpenCL.so missing", tag.contains("android:name=\"libOpenCL.so\""))
        assertTrue("libOpenCL.so must be optional", tag.contains("android:required=\"false\""))
    }

    @Test
    fun themeHasNoActionBarOverTheEdgeToEdgeLayout() {
        // The layout pads itself by the system-bar insets (edge-to-edge); an action bar would add a second top gap.
        val manifest = File(TestFiles.repo, "android-sample/app/src/main/AndroidManifest.xml").readText()
        val theme = Regex("android:theme=\"@style/([^\"]+)\"").find(manifest)?.groupValues?.get(1) ?: ""
        assertTrue("theme $theme", theme.endsWith(".NoActionBar"))
    }

    @Test
    fun cameraXSupports16KbPageSizes() {
        // CameraX 1.4.2 is the first release whose native libraries are aligned for 16 KB memory pages (Android 15+).
        val versions = File(TestFiles.repo, "android-sample/gradle/libs.versions.toml").readText()
        val camerax = Regex("(?m)^camerax = \"([0-9.]+)\"").find(versions)?.groupValues?.get(1) ?: "missing"
        val parts = camerax.split(".").map { it.toInt() }
        val atLeast = listOf(1, 4, 2)
        val cmp = parts.zip(atLeast).map { (a, b) -> a.compareTo(b) }.firstOrNull { it != 0 } ?: 0
        assertTrue("CameraX $camerax < 1.4.2", cmp >= 0)
    }
}
