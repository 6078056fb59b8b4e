from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        """Hand each channel's address check down to the subscribers API, which sits below
        the channel modules and so cannot import them."""
        from notifications.addresses import register_address_check
        from pipeline.channels.registry import channels

        for name, channel in channels().items():
            register_address_check(name, channel.address_error)
