package dev.edgekit.sample

import android.app.Application
import android.net.Uri
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.LiveData
import androidx.lifecycle.MutableLiveData
import dev.edgekit.core.Labels
import java.io.FileNotFoundException
import java.util.concurrent.ExecutorService
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.ThreadPoolExecutor
import java.util.concurrent.TimeUnit

/**
 * Owns the classifier and the screen state across configuration changes (rotation).
 *
 * All interpreter work runs on one background thread ([inferenceExecutor]), which is also the CameraX analyzer
 * executor: frames, photos and model reloads are serialised and never run on the main thread. The interpreter is
 * closed in [onCleared]. The executor is never shut down: CameraX may still hand it a frame after the ViewModel is
 * cleared (a shut-down executor would throw in CameraX's thread); that frame is closed unclassified, and the thread
 * ends by itself once idle.
 *
 * A result is shown only in the mode it was made for: a camera frame finishing after a photo was picked, or a
 * photo finishing after "Live camera", does not overwrite the screen.
 */
class ClassifierViewModel(application: Application) : AndroidViewModel(application) {
    val inferenceExecutor: ExecutorService = ThreadPoolExecutor(
        0, 1, IDLE_SECONDS, TimeUnit.SECONDS, LinkedBlockingQueue()
    ) { r -> Thread(r, "edge-kit-inference") } // at most one thread: tasks run one after another, in order
    private val frames = FrameConverter()
    private var classifier: ModelClassifier? = null // touched only on inferenceExecutor
    @Volatile private var cleared = false
    private val _state = MutableLiveData(UiState())
    val state: LiveData<UiState> = _state
    private var latest = UiState() // the newest state, also before postValue reaches the main thread

    init {
        val models = ModelFiles.list(application.assets)
        val first = models.firstOrNull() ?: ModelFiles.DEFAULT_MODEL
        setState { it.copy(models = models) }
        apply(AppSettings(model = first), force = true)
    }

    private fun setState(update: (UiState) -> UiState) {
        synchronized(this) {
            latest = update(latest)
            _state.postValue(latest)
        }
    }

    private fun snapshot(): UiState = synchronized(this) { latest }

    /** Change the settings; the interpreter is recreated only when the model, accelerator or threads change. */
    fun apply(settings: AppSettings, force: Boolean = false) {
        val old = snapshot().settings
        setState { it.copy(settings = settings) }
        if (force || settings.needsReload(old)) reload(settings)
    }

    /** (Re)create the interpreter for [settings]; the old one is closed first. */
    private fun reload(settings: AppSettings) {
        setState { it.copy(modelSummary = "Loading ${settings.model}…") }
        inferenceExecutor.execute {
            classifier?.close()
            classifier = null
            val app = getApplication<Application>()
            val name = settings.model
            try {
                val model = ModelFiles.map(app.assets, name)
                val fallbackLabels = try {
                    app.assets.open(ModelFiles.LABELS).use { Labels.parse(it.readBytes()) }
                } catch (e: FileNotFoundException) {
                    null
                }
                val runner = LiteRtRunner(model, settings.useGpu, settings.threads, name)
                val c = ModelClassifier(model, runner, name, fallbackLabels)
                classifier = c
                val cfg = c.core.config
                val title = c.core.info.metadata?.name?.takeIf { it.isNotBlank() } ?: name
                val summary = "$title ($name): ${c.core.labels.size} classes, input ${cfg.height}x${cfg.width}, " +
                    "${cfg.crop.jsonName} crop, ${c.core.encoding.describe()}"
                setState { it.copy(modelSummary = summary, accelerator = c.accelerator, message = c.fallbackMessage) }
            } catch (e: FileNotFoundException) {
                setState {
                    it.copy(modelSummary = "No model", message = "assets/$name is missing or compressed: run " +
                        "`edge-convert export <run>` (or copy a .tflite there) and rebuild the app.")
                }
            } catch (e: Exception) {
                setState { it.copy(modelSummary = "Model not usable", message = "$name: ${e.message ?: e}") }
            }
        }
    }

    /**
     * CameraX analyzer (runs on [inferenceExecutor]); frames are skipped while a photo is shown, no model is loaded
     * or the ViewModel is cleared, and always closed.
     */
    val analyzer = ImageAnalysis.Analyzer { image: ImageProxy ->
        try {
            val c = classifier
            val s = snapshot()
            if (c != null && !cleared && s.mode == UiState.Mode.CAMERA) {
                try {
                    val pixels = frames.convert(image)
                    val settings = s.settings
                    val result = c.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation,
                        settings.maxResults, settings.threshold)
                    setState { st -> if (st.mode == UiState.Mode.CAMERA) st.shown(result, null) else st }
                } catch (e: Exception) {
                    setState { st ->
                        if (st.mode == UiState.Mode.CAMERA) st.copy(message = "Camera frame failed: ${e.message}") else st
                    }
                }
            }
        } finally {
            image.close()
        }
    }

    /** Classify a photo from the gallery (decoded and classified off the main thread). */
    fun classifyPhoto(uri: Uri) {
        setState {
            it.copy(mode = UiState.Mode.PHOTO, predictions = emptyList(), message = null, photo = uri, modelInput = null)
        }
        inferenceExecutor.execute {
            val c = classifier
            if (c == null) {
                setState { it.copy(message = "No model loaded; see the message above.") }
                return@execute
            }
            try {
                val pixels = PhotoLoader.load(getApplication<Application>().contentResolver, uri, c.core.config)
                val settings = snapshot().settings
                val result = c.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation,
                    settings.maxResults, settings.threshold)
                val cfg = c.core.config
                val input = ModelInputBitmap.fromRgb(c.lastInput(), cfg.width, cfg.height)
                showPhoto(uri) { it.shown(result, pixels.note).copy(modelInput = input) }
            } catch (e: Exception) {
                showPhoto(uri) { it.copy(message = "Cannot classify this photo: ${e.message}") }
            } catch (e: OutOfMemoryError) {
                showPhoto(uri) { it.copy(message = "The photo is too large to decode on this device.") }
            }
        }
    }

    /** Back to live classification. */
    fun useCamera() = setState { it.copy(mode = UiState.Mode.CAMERA, photo = null, modelInput = null, predictions = emptyList(), message = null) }

    /** The camera could not be opened (no camera, in use by another app). */
    fun cameraFailed(reason: String) = setState { it.copy(message = "Camera unavailable: $reason. Pick a photo instead.") }

    /** Shown when the user refuses the camera permission: the gallery still works. */
    fun cameraDenied() = setState {
        it.copy(message = "Camera permission denied: live classification is off. Pick a photo instead, or allow " +
            "the camera in the system settings.")
    }

    /** [update] the state if it still shows [uri] (the user may have gone back to the camera, or picked another). */
    private fun showPhoto(uri: Uri, update: (UiState) -> UiState) =
        setState { if (it.mode == UiState.Mode.PHOTO && it.photo == uri) update(it) else it }

    private fun UiState.shown(result: Classification, note: String?): UiState =
        copy(predictions = result.predictions, preprocessMs = result.preprocessMs, inferenceMs = result.inferenceMs,
            accelerator = result.accelerator, message = note ?: message)

    override fun onCleared() {
        cleared = true
        inferenceExecutor.execute {
            classifier?.close()
            classifier = null
        }
    }

    companion object {
        /** How long the idle inference thread waits for work before it ends (a new task starts a new one). */
        const val IDLE_SECONDS = 5L
    }
}
