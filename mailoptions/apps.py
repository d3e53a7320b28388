from django.apps import AppConfig


class MailoptionsConfig(AppConfig):
    name = "mailoptions"
