package dev.edgekit.sample

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle
import android.view.OrientationEventListener
import android.view.View
import android.widget.Button
import android.widget.ImageView
import android.widget.TextView
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.appcompat.app.AppCompatActivity
import androidx.appcompat.widget.SwitchCompat
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.core.UseCaseGroup
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import java.util.Locale

/**
 * One screen: live camera classification (CameraX preview + ImageAnalysis), or a photo from the gallery; the top
 * results with scores, the preprocessing and inference times, and the settings (results, threshold, model, threads,
 * GPU). State lives in [ClassifierViewModel], so rotation keeps it; the camera is bound to this activity's
 * lifecycle, only in camera mode ([CameraGate]).
 */
class MainActivity : AppCompatActivity() {
    private val viewModel: ClassifierViewModel by viewModels()
    private lateinit var preview: PreviewView
    private lateinit var modelInput: ImageView
    private lateinit var gpu: SwitchCompat
    private val camera = CameraGate()
    private var analysis: ImageAnalysis? = null
    private var provider: ProcessCameraProvider? = null
    private var askedPermission = false

    private val cameraPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) syncCamera() else viewModel.cameraDenied()
    }

    // The Photo Picker (falls back to ACTION_OPEN_DOCUMENT where the picker is unavailable); no storage permission.
    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) viewModel.classifyPhoto(uri)
    }

    // Turning the phone by 180° does not recreate the activity: follow the device orientation, so frames are
    // rotated upright whatever the turn (CameraX's recommended OrientationEventListener pattern).
    private val orientationListener by lazy {
        object : OrientationEventListener(this) {
            override fun onOrientationChanged(orientation: Int) {
                val rotation = TargetRotation.forOrientation(orientation) ?: return
                analysis?.targetRotation = rotation
            }
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge() // mandatory with targetSdk 35; the insets listener below keeps the buttons reachable
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        val root = findViewById<View>(R.id.root)
        val padLeft = root.paddingLeft
        val padTop = root.paddingTop
        val padRight = root.paddingRight
        val padBottom = root.paddingBottom
        ViewCompat.setOnApplyWindowInsetsListener(root) { view, insets ->
            val bars = insets.getInsets(WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout())
            view.setPadding(padLeft + bars.left, padTop + bars.top, padRight + bars.right, padBottom + bars.bottom)
            WindowInsetsCompat.CONSUMED
        }
        preview = findViewById(R.id.preview)
        modelInput = findViewById(R.id.model_input)
        gpu = findViewById(R.id.gpu)
        val summary = findViewById<TextView>(R.id.model_summary)
        val results = findViewById<TextView>(R.id.results)
        val timing = findViewById<TextView>(R.id.timing)
        val message = findViewById<TextView>(R.id.message)
        val maxResults = findViewById<Button>(R.id.max_results)
        val threshold = findViewById<Button>(R.id.threshold)
        val model = findViewById<Button>(R.id.model)
        val threads = findViewById<Button>(R.id.threads)

        findViewById<Button>(R.id.pick_photo).setOnClickListener {
            pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        findViewById<Button>(R.id.live_camera).setOnClickListener {
            viewModel.useCamera()
            askedPermission = false // the user asked for the camera: ask again if needed,
            camera.retry() // and try again after an earlier failure
            syncCamera(UiState.Mode.CAMERA)
        }
        maxResults.setOnClickListener { settings()?.let { viewModel.apply(it.nextMaxResults()) } }
        threshold.setOnClickListener { settings()?.let { viewModel.apply(it.nextThreshold()) } }
        threads.setOnClickListener { settings()?.let { viewModel.apply(it.nextThreads()) } }
        model.setOnClickListener {
            val s = viewModel.state.value ?: return@setOnClickListener
            viewModel.apply(s.settings.nextModel(s.models))
        }

        viewModel.state.observe(this) { s ->
            summary.text = s.modelSummary
            results.text = if (s.predictions.isEmpty()) "" else s.predictions.joinToString("\n") {
                String.format(Locale.ROOT, "%5.1f%%  %s", it.score * 100, it.label)
            }
            timing.text = if (s.predictions.isEmpty()) s.accelerator else String.format(
                Locale.ROOT, "preprocess %.1f ms, inference %.1f ms on %s", s.preprocessMs, s.inferenceMs, s.accelerator
            )
            message.text = s.message ?: ""
            message.visibility = if (s.message == null) View.GONE else View.VISIBLE
            maxResults.text = getString(R.string.max_results, s.settings.maxResults)
            threshold.text = getString(R.string.threshold, s.settings.threshold)
            model.text = getString(R.string.model, s.settings.model)
            model.isEnabled = s.models.size > 1
            threads.text = getString(R.string.threads, s.settings.threads)
            gpu.setOnCheckedChangeListener(null) // set without triggering a reload
            gpu.isChecked = s.settings.useGpu
            gpu.setOnCheckedChangeListener { _, checked -> settings()?.let { viewModel.apply(it.copy(useGpu = checked)) } }
            val photo = s.mode == UiState.Mode.PHOTO
            modelInput.visibility = if (photo) View.VISIBLE else View.GONE
            modelInput.setImageBitmap(if (photo) s.modelInput else null)
            syncCamera(s.mode)
        }
        askedPermission = savedInstanceState != null // after a rotation, do not ask again unprompted
    }

    override fun onStart() {
        super.onStart()
        orientationListener.enable()
    }

    override fun onStop() {
        orientationListener.disable()
        super.onStop()
    }

    private fun settings(): AppSettings? = viewModel.state.value?.settings

    private fun hasCameraPermission(): Boolean =
        ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED

    /** Bind, unbind or ask for the camera as [CameraGate] says for [mode]. */
    private fun syncCamera(mode: UiState.Mode = viewModel.state.value?.mode ?: UiState.Mode.CAMERA) {
        when (camera.action(mode, hasCameraPermission(), mayAsk = !askedPermission)) {
            CameraGate.Action.BIND -> startCamera()
            CameraGate.Action.UNBIND -> {
                provider?.unbindAll() // photo mode: stop the preview and the analysis stream
                analysis = null
                camera.unbound()
            }
            CameraGate.Action.ASK_PERMISSION -> {
                askedPermission = true
                cameraPermission.launch(Manifest.permission.CAMERA)
            }
            CameraGate.Action.NONE -> Unit
        }
    }

    /** Bind preview + analysis to this activity's lifecycle: CameraX stops them when it is destroyed. */
    private fun startCamera() {
        camera.binding()
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener(Runnable {
            val cameraProvider = try {
                future.get()
            } catch (e: Exception) {
                camera.failed()
                viewModel.cameraFailed(e.message ?: e.toString())
                return@Runnable
            }
            provider = cameraProvider
            if (!camera.bound) return@Runnable // a photo was picked meanwhile: stay unbound
            val previewUseCase = Preview.Builder().build()
            previewUseCase.setSurfaceProvider(preview.surfaceProvider)
            val useCase = ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                .build()
            useCase.setAnalyzer(viewModel.inferenceExecutor, viewModel.analyzer)
            // With the preview's ViewPort, every analysis frame's cropRect is the area the preview shows, and the
            // FrameConverter classifies only that. (Null before the view is laid out: then the whole frame.)
            val viewPort = preview.viewPort
            try {
                cameraProvider.unbindAll()
                if (viewPort != null) {
                    val group = UseCaseGroup.Builder().setViewPort(viewPort).addUseCase(previewUseCase)
                        .addUseCase(useCase).build()
                    cameraProvider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, group)
                } else {
                    cameraProvider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, previewUseCase, useCase)
                }
                analysis = useCase
            } catch (e: Exception) {
                camera.failed()
                viewModel.cameraFailed(e.message ?: e.toString())
            }
        }, ContextCompat.getMainExecutor(this))
    }
}
