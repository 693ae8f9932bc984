package androidx.camera.core;

import java.util.ArrayList;
import java.util.List;

/** JVM stand-in. */
public final class UseCaseGroup {
    private final ViewPort viewPort;
    private final List<UseCase> useCases;

    UseCaseGroup(ViewPort viewPort, List<UseCase> useCases) {
        this.viewPort = viewPort;
        this.useCases = useCases;
    }

    public ViewPort getViewPort() { return viewPort; }
    public List<UseCase> getUseCases() { return useCases; }

    public static final class Builder {
        private ViewPort viewPort;
        private final List<UseCase> useCases = new ArrayList<>();

        public Builder setViewPort(ViewPort viewPort) { this.viewPort = viewPort; return this; }
        public Builder addUseCase(UseCase useCase) { useCases.add(useCase); return this; }
        public UseCaseGroup build() { return new UseCaseGroup(viewPort, useCases); }
    }
}
