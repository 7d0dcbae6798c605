# The school profile table (Django 5.2.19).

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='SchoolProfile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('welcome_text', models.TextField(blank=True)),
            ],
            options={
                'db_table': 'school_profile',
            },
        ),
    ]
