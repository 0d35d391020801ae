app_name = "main"

urlpatterns = []
